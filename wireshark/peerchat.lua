-- peerchat.lua: a Wireshark dissector for every peerchat message (PROTOCOL.md).
--
-- Load it for one run with `tshark -X lua_script:wireshark/peerchat.lua`, or copy it to
-- Wireshark's personal Lua plugins folder (see wireshark/README.md). Every field is
-- filterable: peerchat.type == "login", peerchat.name == "alice", peerchat.malformed, ...
--
-- Text messages (UTF-8, or the C# client's UTF-16LE) are split into named fields by the
-- SPEC table below; `auth` (sealed) shows its header and decodes the message inside; Noise
-- frames (0x01-0x03) and the relay (0x04, 0x05) show their headers; TCP carries the online
-- list, the list ticket, the file data connection's lines and the transit relay's lines.
-- Nothing a datagram holds can raise a Lua error: a datagram that does not read is marked
-- with the expert info "malformed" and the field peerchat.malformed (the reason).
--
-- The field names per message are the ones `peerchat --trace` prints (ui/trace.ts's
-- TRACE_SPEC mirrors SPEC; wireshark/dissector_test.ts checks that they agree).

local peerchat = Proto("peerchat", "peerchat")

local F = {}
local FIELD_NAMES = {
  "type", "encoding", "name", "endpoint", "flavor", "session", "sign_key", "dh_key", "nonce",
  "signature", "key", "seq", "tag", "tcp_port", "ticket", "reflexive", "nat_port", "relay",
  "transit_port", "reason", "digest", "rtt", "status", "who", "candidates", "delay", "txid",
  "users", "label", "time", "text", "stream", "part", "kind", "body", "cum", "sack", "item",
  "change", "room", "version", "owners", "flags", "count", "topic", "settings", "code", "by",
  "members", "member", "since", "frame", "sender", "receiver", "counter", "ephemeral",
  "ciphertext_len", "keepalive", "relay_to", "relay_len", "challenge", "id", "proof", "file",
  "offset", "size", "role", "hash", "entry", "malformed",
}
-- What each field is, as the packet details pane shows it.
local LABELS = {
  type = "Message type", encoding = "Text encoding", name = "Name", endpoint = "Endpoint (IP:PORT)",
  flavor = "Client flavour", session = "Session", sign_key = "Ed25519 sign key",
  dh_key = "X25519 key", nonce = "Nonce", signature = "Signature", key = "Key",
  seq = "Sequence number", tag = "Seal tag (HMAC)", tcp_port = "TCP port (online list)",
  ticket = "List ticket", reflexive = "Reflexive endpoint", nat_port = "NAT-type port",
  relay = "Relay", transit_port = "Transit relay port", reason = "Reason",
  digest = "Roster digest", rtt = "Round trip (ms)", status = "Status", who = "Who",
  candidates = "Candidates", delay = "Punch delay (ms)", txid = "Probe id",
  users = "Users online", label = "Label", time = "Time", text = "Text", stream = "Stream",
  part = "Part (i/n)", kind = "Kind", body = "Body", cum = "Cumulative ack",
  sack = "Selective acks", item = "Roster item", change = "Change (+ join, - leave)",
  room = "Room", version = "Room version", owners = "Owners", flags = "Room flags",
  count = "Members", topic = "Topic", settings = "Settings", code = "Error code",
  by = "Invited by", members = "Members", member = "Member", since = "Member since version",
  frame = "Noise frame type", sender = "Sender index", receiver = "Receiver index",
  counter = "Counter", ephemeral = "Ephemeral key", ciphertext_len = "Ciphertext bytes",
  keepalive = "Keep-alive", relay_to = "Relay to", relay_len = "Relay name length",
  challenge = "Challenge", id = "Offer id", proof = "Token proof", file = "File index",
  offset = "Offset", size = "Size", role = "Transit side", hash = "Transit hash",
  entry = "List entry", malformed = "Malformed",
}
for _, name in ipairs(FIELD_NAMES) do
  F[name] = ProtoField.string("peerchat." .. name, LABELS[name] or name)
end
local fields_list = {}
for _, name in ipairs(FIELD_NAMES) do fields_list[#fields_list + 1] = F[name] end
peerchat.fields = fields_list

local ex_malformed = ProtoExpert.new("peerchat.malformed.expert", "malformed",
  expert.group.PROTOCOL, expert.severity.WARN)
peerchat.experts = { ex_malformed }

-- Each text message: the names of its fields after the type word, in order. `rest`: the
-- last field takes the rest of the text, commas and all. `min`: fewest fields after the type.
local SPEC = {
  ["login"] = { f = { "name", "endpoint", "flavor", "session", "sign_key", "dh_key", "nonce",
    "signature" }, min = 2 },
  ["challenge"] = { f = { "name", "nonce", "key" }, min = 3 },
  ["auth"] = { f = { "seq", "tag" }, min = 2, inner = true },
  ["Accept"] = { f = { "tcp_port", "ticket", "session", "reflexive", "nat_port", "relay",
    "transit_port" }, min = 1 },
  ["Reject"] = { f = { "reason" }, min = 1, rest = true },
  ["logout"] = { f = { "name", "endpoint", "session" }, min = 2 },
  ["bye"] = { f = { "name" }, min = 1 },
  ["ping"] = { f = { "name", "session", "digest", "rtt" }, min = 3 },
  ["pong"] = { f = { "name", "status", "ticket" }, min = 2 },
  ["lookup"] = { f = { "name", "session", "who" }, min = 3 },
  ["found"] = { f = { "name", "endpoint", "flavor", "key", "candidates" }, min = 2 },
  ["notfound"] = { f = { "name" }, min = 1 },
  ["roster"] = { f = {}, min = 0, roster = true },
  ["discover"] = { f = { "nonce" }, min = 1 },
  ["coordinator"] = { f = { "nonce", "users", "tcp_port", "label" }, min = 4, rest = true },
  ["probe"] = { f = { "nonce" }, min = 1 },
  ["probed"] = { f = { "nonce", "name" }, min = 2 },
  ["talk"] = { f = { "time", "name", "text" }, min = 3, rest = true },
  ["msg"] = { f = { "name", "stream", "seq", "part", "kind", "time", "body" }, min = 7,
    rest = true },
  ["ack"] = { f = { "name", "stream", "cum", "sack" }, min = 3 },
  ["natping"] = { f = { "name", "session" }, min = 2 },
  ["natpong"] = { f = { "name", "endpoint" }, min = 2 },
  ["connect"] = { f = { "name", "session", "who" }, min = 3 },
  ["punch"] = { f = { "name", "delay", "candidates" }, min = 3 },
  ["relay-busy"] = { f = { "name", "reason" }, min = 2 },
  ["path-probe"] = { f = { "txid" }, min = 1 },
  ["path-reply"] = { f = { "txid", "endpoint" }, min = 2 },
  ["path-candidates"] = { f = { "candidates" }, min = 1 },
  ["join"] = { f = { "name", "session", "room" }, min = 3 },
  ["part"] = { f = { "name", "session", "room" }, min = 3 },
  ["names"] = { f = { "name", "session", "room" }, min = 3 },
  ["invite"] = { f = { "name", "session", "who", "room" }, min = 4 },
  ["kick"] = { f = { "name", "session", "who", "room" }, min = 4 },
  ["topic"] = { f = { "name", "session", "room", "topic" }, min = 4, rest = true },
  ["mode"] = { f = { "name", "session", "room", "settings" }, min = 4 },
  ["room"] = { f = { "room", "version", "owners", "flags", "count", "topic" }, min = 6,
    rest = true },
  ["room-members"] = { f = { "room", "version", "members" }, min = 3, rest = true,
    members = true },
  ["room-invite"] = { f = { "room", "by" }, min = 2 },
  ["room-error"] = { f = { "room", "code", "reason" }, min = 3, rest = true },
}

-- Light checks of a field's value: a reason when it does not read.
local NUMERIC = { seq = true, tcp_port = true, nat_port = true, transit_port = true, rtt = true,
  delay = true, users = true, cum = true, version = true, count = true, since = true }
local function check_endpoint(v)
  local host, port = v:match("^(%d+%.%d+%.%d+%.%d+):(%d+)$")
  if not host then host, port = v:match("^%[([%x:%.]+)%]:(%d+)$") end
  if not host then return "not an endpoint (IP:PORT)" end
  local p = tonumber(port)
  if not p or p < 1 or p > 65535 then return "port out of range" end
  return nil
end
local B64 = { key = 43, sign_key = 43, dh_key = 43, tag = 22, signature = 86 }
local TOKEN = { session = true, ticket = true, stream = true, txid = true, nonce = true }
local WORDS = {
  status = { ok = true, stale = true, unknown = true },
  relay = { relay = true, ["-"] = true },
}
local function check_candidates(v)
  for cand in (v .. "|"):gmatch("([^|]*)|") do
    local bad = check_endpoint(cand)
    if bad then return "holds " .. bad end
  end
  return nil
end
local function check_field(name, v)
  if B64[name] then
    if #v ~= B64[name] or not v:match("^[%w_%-]+$") then
      return "not " .. B64[name] .. " base64url characters"
    end
  elseif TOKEN[name] then
    if #v == 0 or #v > 64 or not v:match("^[%w_%.%-]+$") then return "not a token" end
  elseif WORDS[name] then
    if not WORDS[name][v] then return "not a known word" end
  elseif name == "candidates" then
    return check_candidates(v)
  elseif name == "part" then
    if not v:match("^%d+/%d+$") then return "not i/n" end
  elseif name == "sack" then
    if not v:match("^[%d%-%.]+$") then return "not ranges" end
  elseif name == "digest" then
    if not v:match("^%x%x%x%x%x%x%x%x$") then return "not 8 hex digits" end
  elseif NUMERIC[name] then
    if not v:match("^%d+$") then return "not a number" end
  elseif name == "endpoint" or name == "reflexive" then
    return check_endpoint(v)
  elseif name == "name" or name == "who" or name == "by" then
    if #v == 0 or #v > 128 or v:find("[,;:%s%c]") then return "not a name" end
  elseif name == "room" then
    if not v:match("^#") then return "not a room (#NAME)" end
  end
  return nil
end

-- Decoded text: `text` (UTF-8) and `pos[i]`, the tvb offset of text byte i (pos[#text+1] is
-- the end), so each field highlights its own bytes in either encoding.
local function utf8_char(cp)
  if cp < 0x80 then return string.char(cp) end
  if cp < 0x800 then return string.char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return string.char(0xE0 + math.floor(cp / 4096), 0x80 + math.floor(cp / 64) % 64,
      0x80 + cp % 64)
  end
  return string.char(0xF0 + math.floor(cp / 262144), 0x80 + math.floor(cp / 4096) % 64,
    0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
end

local function looks_utf16(bytes)
  local n = #bytes
  if n >= 2 and bytes:byte(1) == 0xFF and bytes:byte(2) == 0xFE then return true end
  return n >= 2 and n % 2 == 0 and bytes:byte(1) ~= 0 and bytes:byte(2) == 0
end

local function decode_text(bytes, base)
  local pos = {}
  if not looks_utf16(bytes) then
    local skip = bytes:sub(1, 3) == "\239\187\191" and 3 or 0 -- a UTF-8 byte-order mark
    for i = 1, #bytes - skip + 1 do pos[i] = base + skip + i - 1 end
    return bytes:sub(skip + 1), pos, "utf-8"
  end
  local out = {}
  local len = 0
  local i = 1
  if bytes:byte(1) == 0xFF and bytes:byte(2) == 0xFE then i = 3 end
  while i + 1 <= #bytes do
    local start = i
    local cp = bytes:byte(i) + bytes:byte(i + 1) * 256
    i = i + 2
    if cp >= 0xD800 and cp <= 0xDBFF and i + 1 <= #bytes then
      local lo = bytes:byte(i) + bytes:byte(i + 1) * 256
      if lo >= 0xDC00 and lo <= 0xDFFF then
        cp = 0x10000 + (cp - 0xD800) * 1024 + (lo - 0xDC00)
        i = i + 2
      end
    end
    local ch = utf8_char(cp)
    out[#out + 1] = ch
    for _ = 1, #ch do
      len = len + 1
      pos[len] = base + start - 1
    end
  end
  pos[len + 1] = base + #bytes
  return table.concat(out), pos, "utf-16le"
end

-- Whether `s` is valid UTF-8 (peerchat refuses anything else: bad-encoding).
local function valid_utf8(s)
  local i, n = 1, #s
  while i <= n do
    local c = s:byte(i)
    local extra
    if c < 0x80 then extra = 0
    elseif c >= 0xC2 and c <= 0xDF then extra = 1
    elseif c >= 0xE0 and c <= 0xEF then extra = 2
    elseif c >= 0xF0 and c <= 0xF4 then extra = 3
    else return false end
    for k = 1, extra do
      local b = s:byte(i + k)
      if b == nil or b < 0x80 or b > 0xBF then return false end
    end
    i = i + extra + 1
  end
  return true
end

local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

local function mark(tree, item, reason)
  local it = tree:add(F.malformed, reason)
  it:add_proto_expert_info(ex_malformed, "malformed: " .. reason)
  if item then item:append_text(" [malformed: " .. reason .. "]") end
end

-- Adds field `name` for text[s..e] (inclusive byte indices).
local seen_types = {}

local function add_type(tree, range, value)
  seen_types[#seen_types + 1] = value
  if range == nil then return tree:add(F.type, value) end
  return tree:add(F.type, range, value)
end

-- The Info column: the types, then a few telling fields.
local INFO_FIELDS = { name = true, endpoint = true, who = true, room = true, status = true,
  tcp_port = true, reason = true, text = true, relay_to = true, id = true, size = true,
  code = true, topic = true }
local seen_info = {}

local function add(tree, tvb, pos, name, s, e, value)
  if name == "type" then seen_types[#seen_types + 1] = value end
  if INFO_FIELDS[name] and #seen_info < 4 then
    seen_info[#seen_info + 1] = name .. "=" .. value:sub(1, 40)
  end
  local from = pos[s]
  local to = pos[e + 1] or pos[#pos]
  if from == nil or to == nil or to < from then return tree:add(F[name], value) end
  return tree:add(F[name], tvb(from, to - from), value)
end

-- Splits text[s..e] on `sep` into {start, end} byte ranges; at most `limit` pieces.
local function split(text, s, e, sep, limit)
  local pieces = {}
  local at = s
  while true do
    if limit and #pieces == limit - 1 then
      pieces[#pieces + 1] = { at, e }
      return pieces
    end
    local c = text:find(sep, at, true)
    if c == nil or c > e then
      pieces[#pieces + 1] = { at, e }
      return pieces
    end
    pieces[#pieces + 1] = { at, c - 1 }
    at = c + 1
  end
end

local dissect_text

-- The online list's TCP port is random (--tcp-port 0): an `Accept` or a discovery answer names
-- it, and its TCP connections are decoded from then on (the ticket line has no other tell).
local followed = {}
local function follow_port(text)
  local port = tonumber(text)
  if port and port >= 1 and port <= 65535 and not followed[port] then
    followed[port] = true
    DissectorTable.get("tcp.port"):add(port, peerchat)
  end
end

-- A roster item or a list entry: +NAME,IP:PORT,FLAVOUR[,KEY[,CANDS]] / -NAME,IP:PORT,REASON /
-- NAME,IP:PORT[,FLAVOUR[,KEY[,CANDS]]].
local function dissect_entry(tree, tvb, text, pos, s, e, field, with_change)
  local sub = add(tree, tvb, pos, field, s, e, text:sub(s, e))
  local change
  if with_change then
    change = text:sub(s, s)
    if change ~= "+" and change ~= "-" then
      mark(sub, sub, "item does not start with + or -")
      return
    end
    add(sub, tvb, pos, "change", s, s, change)
    s = s + 1
  end
  local parts = split(text, s, e, ",", 5)
  local names = { "name", "endpoint", "flavor", "key", "candidates" }
  if change == "-" then names = { "name", "endpoint", "reason" } end
  if #parts < 2 or #parts > #names then
    mark(sub, sub, "wrong field count in " .. field)
    return
  end
  for i, r in ipairs(parts) do
    local v = trim(text:sub(r[1], r[2]))
    add(sub, tvb, pos, names[i], r[1], r[2], v)
    local bad = check_field(names[i], v)
    if bad then mark(sub, sub, names[i] .. " " .. bad) end
  end
end

local function dissect_members(tree, tvb, text, pos, s, e)
  for _, r in ipairs(split(text, s, e, ";")) do
    local sub = add(tree, tvb, pos, "member", r[1], r[2], text:sub(r[1], r[2]))
    local parts = split(text, r[1], r[2], ",")
    if #parts ~= 3 then
      mark(sub, sub, "a member is NAME,KEY,SINCE")
    else
      local names = { "name", "key", "since" }
      for i, p in ipairs(parts) do
        local v = text:sub(p[1], p[2])
        add(sub, tvb, pos, names[i], p[1], p[2], v)
        local bad = check_field(names[i], v)
        if bad then mark(sub, sub, names[i] .. " " .. bad) end
      end
    end
  end
end

-- One text message, text[s..e]; returns its type word (or nil when unknown).
dissect_text = function(tree, tvb, text, pos, s, e, depth)
  local comma = text:find(",", s, true)
  local type_end = (comma and comma <= e) and comma - 1 or e
  local word = trim(text:sub(s, type_end))
  local spec = SPEC[word]
  if spec == nil then
    local sub = add_type(tree, nil, "unknown")
    mark(tree, sub, "unknown message type")
    return nil
  end
  if word ~= "msg" then
    if text:sub(e - 1, e) == "\r\n" then e = e - 2
    elseif text:sub(e, e) == "\n" then e = e - 1 end
  end
  local titem = add(tree, tvb, pos, "type", s, type_end, word)
  tree:append_text(", " .. word)
  if type_end >= e then
    if spec.min > 0 then mark(tree, titem, "no fields") end
    return word
  end
  local first = type_end + 2
  if spec.roster then
    for _, r in ipairs(split(text, first, e, ";")) do
      dissect_entry(tree, tvb, text, pos, r[1], r[2], "item", true)
    end
    return word
  end
  local nf = #spec.f
  local limit = nf
  if spec.inner then limit = 3 end
  local parts = split(text, first, e, ",", (spec.rest or spec.inner) and limit or nil)
  if spec.inner then
    if #parts < 3 then
      mark(tree, titem, "auth is auth,SEQ,TAG,MESSAGE")
    end
  elseif #parts < spec.min or #parts > nf then
    mark(tree, titem, string.format("wrong field count: %d (%s takes %d to %d)", #parts, word,
      spec.min, nf))
  end
  for i, r in ipairs(parts) do
    if spec.inner and i == 3 then
      if depth > 0 then
        mark(tree, titem, "auth inside auth")
      else
        local sub = tree:add(peerchat, tvb(pos[r[1]], (pos[r[2] + 1] or pos[#pos]) - pos[r[1]]),
          "sealed message")
        dissect_text(sub, tvb, text, pos, r[1], r[2], depth + 1)
      end
    else
      local name = spec.f[i]
      if name == nil then break end
      local raw = text:sub(r[1], r[2])
      local v = (spec.rest and i == nf) and raw or trim(raw)
      if spec.members and name == "members" then
        dissect_members(tree, tvb, text, pos, r[1], r[2])
      else
        add(tree, tvb, pos, name, r[1], r[2], v)
        local bad = check_field(name, v)
        if bad then mark(tree, titem, name .. " " .. bad) end
        if (name == "tcp_port" or name == "transit_port") and not bad then follow_port(v) end
      end
    end
  end
  return word
end

-- Noise frames: 01 init, 02 response, 03 data (header fields only).
local FRAME_TYPES = { [1] = "noise-init", [2] = "noise-response", [3] = "noise-data" }
local function frame_ok(tvb, off)
  local n = tvb:len() - off
  if n < 4 then return false end
  local t = tvb(off, 1):uint()
  if tvb(off + 1, 3):uint() ~= 0 then return false end
  if t == 1 then return n >= 113 and n <= 240 end
  if t == 2 then return n == 60 end
  if t == 3 then return n >= 32 and n <= 16384 end
  return false
end

local function dissect_frame(tree, tvb, off)
  local n = tvb:len() - off
  if n < 1 then
    mark(tree, nil, "no frame")
    return
  end
  local t = tvb(off, 1):uint()
  local ftype = FRAME_TYPES[t]
  if ftype == nil then
    mark(tree, nil, "not a Noise frame (first byte 1-3)")
    return
  end
  add_type(tree, tvb(off, 1), ftype)
  tree:add(F.frame, tvb(off, 1), tostring(t))
  tree:append_text(", " .. ftype)
  if not frame_ok(tvb, off) then
    mark(tree, nil, string.format("bad frame: %d bytes or reserved bytes set", n))
    return
  end
  if t == 1 then
    tree:add(F.sender, tvb(off + 4, 4), string.format("%08x", tvb(off + 4, 4):uint()))
    tree:add(F.ephemeral, tvb(off + 8, 32), tostring(tvb(off + 8, 32):bytes()))
    tree:add(F.ciphertext_len, tvb(off + 40, n - 40), tostring(n - 40))
  elseif t == 2 then
    tree:add(F.sender, tvb(off + 4, 4), string.format("%08x", tvb(off + 4, 4):uint()))
    tree:add(F.receiver, tvb(off + 8, 4), string.format("%08x", tvb(off + 8, 4):uint()))
    tree:add(F.ephemeral, tvb(off + 12, 32), tostring(tvb(off + 12, 32):bytes()))
    tree:add(F.ciphertext_len, tvb(off + 44, 16), "16")
  else
    tree:add(F.receiver, tvb(off + 4, 4), string.format("%08x", tvb(off + 4, 4):uint()))
    tree:add(F.counter, tvb(off + 8, 8), tostring(tvb(off + 8, 8):uint64()))
    tree:add(F.ciphertext_len, tvb(off + 16, n - 16), tostring(n - 16))
    tree:add(F.keepalive, tvb(off + 16, n - 16), n == 32 and "yes" or "no")
  end
end

local function dissect_binary(tree, tvb)
  local b = tvb(0, 1):uint()
  if b >= 1 and b <= 3 then return dissect_frame(tree, tvb, 0) end
  if b == 4 then
    add_type(tree, tvb(0, 1), "relay")
    tree:append_text(", relay")
    if tvb:len() < 2 then return mark(tree, nil, "relay datagram without a name length") end
    local len = tvb(1, 1):uint()
    tree:add(F.relay_len, tvb(1, 1), tostring(len))
    if len < 1 or len > 128 or tvb:len() < 2 + len then
      return mark(tree, nil, "relay name length out of range")
    end
    tree:add(F.relay_to, tvb(2, len), tvb(2, len):string())
    local sub = tree:add(peerchat, tvb(2 + len), "relayed frame")
    return dissect_frame(sub, tvb, 2 + len)
  end
  if b == 5 then
    add_type(tree, tvb(0, 1), "relayed")
    tree:append_text(", relayed")
    local sub = tree:add(peerchat, tvb(0), "frame")
    return dissect_frame(sub, tvb, 1)
  end
  mark(tree, nil, "neither text nor a frame")
end

local function is_text_start(bytes)
  local word = bytes:match("^%s*([%a%-]+)%s*,")
  return word ~= nil and SPEC[word] ~= nil
end

local function dissect_udp_bytes(tree, tvb)
  if tvb:len() == 0 then return mark(tree, nil, "empty datagram") end
  local b = tvb(0, 1):uint()
  if b >= 1 and b <= 5 then return dissect_binary(tree, tvb) end
  local bytes = tvb:raw()
  local text, pos, enc = decode_text(bytes, 0)
  tree:add(F.encoding, enc)
  if enc == "utf-8" and not valid_utf8(text) then mark(tree, nil, "not valid UTF-8 text") end
  if text:find("\0", 1, true) then mark(tree, nil, "a NUL character") end
  dissect_text(tree, tvb, text, pos, 1, #text, 0)
end

-- TCP: the list ticket, the online list (plain or .NET-framed), file and transit lines.
local tcp_stream_f = Field.new("tcp.stream")
local data_streams = {}

local LINE_SPEC = {
  hello = { "challenge" },
  manifest = { "id", "proof" },
  pull = { "id", "proof", "file", "offset" },
  ok = { "size", "nonce" },
  no = { "reason" },
  transit = { "role", "hash" },
}

local function dissect_list(tree, tvb, text, pos, s, e)
  add_type(tree, tvb(pos[s], pos[e + 1] - pos[s]), "list")
  tree:append_text(", list")
  local entries = split(text, s, e, ";")
  local last = entries[#entries]
  if text:sub(last[1], last[2]) ~= "end" then
    mark(tree, nil, "the list does not end with end")
  end
  for i, r in ipairs(entries) do
    if i < #entries or text:sub(r[1], r[2]) ~= "end" then
      dissect_entry(tree, tvb, text, pos, r[1], r[2], "entry", false)
    end
  end
end

local function dissect_line(tree, tvb, text, pos, s, e)
  local word = text:match("^(%l+) ", s)
  if word == nil and text:sub(s, e) == "ok" then word = "ok" end
  local names = word and LINE_SPEC[word]
  local sub = tree:add(peerchat, tvb(pos[s], pos[e + 1] - pos[s]), "line")
  if names == nil then
    if text:sub(s, e):match("^[%w_%.%-]+$") and e - s < 64 then
      add(sub, tvb, pos, "type", s, e, "ticket")
      add(sub, tvb, pos, "ticket", s, e, text:sub(s, e))
      return
    end
    add_type(sub, nil, "unknown")
    return mark(sub, sub, "unknown line")
  end
  add(sub, tvb, pos, "type", s, s + #word - 1, word)
  sub:append_text(", " .. word)
  if word == "ok" and s + 1 == e then return end -- the transit relay's `ok`
  local rest = s + #word + 1
  local parts = {}
  if rest <= e then
    parts = split(text, rest, e, " ", (word == "no") and 1 or nil)
  end
  if #parts > #names or (#parts < #names and not (word == "ok" and #parts == 1)) then
    mark(sub, sub, string.format("%s takes %d fields, not %d", word, #names, #parts))
  end
  for i, r in ipairs(parts) do
    if names[i] then add(sub, tvb, pos, names[i], r[1], r[2], text:sub(r[1], r[2])) end
  end
  return word
end

-- The beginning of an online list: NAME,IP:PORT or NAME,[IPv6]:PORT.
local function list_start(text)
  return text:match("^[^,;%s]+,%d+%.%d+%.%d+%.%d+:%d") ~= nil or
    text:match("^[^,;%s]+,%[[%x:%.]+%]:%d") ~= nil
end

local function dissect_tcp_bytes(tree, tvb, pinfo)
  local stream = tcp_stream_f()
  -- Sealed file data flows from the sender (this direction) after its `ok SIZE NONCE`.
  local key = (stream and tostring(stream) or "?") .. ":" .. tostring(pinfo.src_port)
  local since = data_streams[key]
  if since and pinfo.number > since then
    add_type(tree, tvb(), "file-data")
    tree:add(F.ciphertext_len, tvb(), tostring(tvb:len()))
    return
  end
  local bytes = tvb:raw()
  -- The C# client's list: a 7-bit length prefix, then the text.
  local len, shift, i = 0, 0, 1
  while i <= #bytes and i <= 5 do
    local b = bytes:byte(i)
    len = len + (b % 128) * 2 ^ shift
    shift = shift + 7
    i = i + 1
    if b < 128 then break end
  end
  if len == #bytes - i + 1 and bytes:sub(-3) == "end" then
    local text, pos = decode_text(bytes:sub(i), i - 1)
    tree:add(F.encoding, "dotnet-framed")
    return dissect_list(tree, tvb, text, pos, 1, #text)
  end
  local text, pos = decode_text(bytes, 0)
  if text == "end" or text:sub(-4) == ";end" then
    return dissect_list(tree, tvb, text, pos, 1, #text)
  end
  if list_start(text) and not text:find("\n", 1, true) and #text < 8388608 then
    -- A long list arrives in several segments (the coordinator closes after `end`).
    pinfo.desegment_offset = 0
    pinfo.desegment_len = DESEGMENT_ONE_MORE_SEGMENT
    return "more"
  end
  if i > 1 and len > #bytes - i + 1 and len < 8388608 and list_start(bytes:sub(i)) then
    -- A framed list (the C# client's) that goes on in the next segments.
    pinfo.desegment_offset = 0
    pinfo.desegment_len = len - (#bytes - i + 1)
    return "more"
  end
  local at = 1
  while at <= #text do
    local nl = text:find("\n", at, true)
    if nl == nil or nl - at > 1024 then break end
    local word = dissect_line(tree, tvb, text, pos, at, nl - 1)
    local data = word == "ok" and nl - 1 > at + 1
    at = nl + 1
    if data then
      -- `ok SIZE NONCE`: sealed chunks follow (the transit relay's `ok` is the bare word).
      data_streams[key] = data_streams[key] or pinfo.number
      since = data_streams[key]
      break
    end
  end
  if at <= #text then
    if since == pinfo.number then
      add_type(tree, tvb(pos[at]), "file-data")
      tree:add(F.ciphertext_len, tvb(pos[at]), tostring(tvb:len() - pos[at]))
    else
      mark(tree, nil, "not a peerchat line")
    end
  end
end

local function safely(tree, f, ...)
  local ok, err = pcall(f, ...)
  if not ok then mark(tree, nil, "dissector could not read it: " .. tostring(err)) end
end

function peerchat.dissector(tvb, pinfo, root)
  pinfo.cols.protocol = "peerchat"
  local tree = root:add(peerchat, tvb(), "peerchat")
  seen_types = {}
  seen_info = {}
  local is_tcp = pinfo.port_type == 2 -- PT_TCP
  if is_tcp then
    if tvb:len() == 0 then return 0 end
    local ok, more = pcall(dissect_tcp_bytes, tree, tvb, pinfo)
    if not ok then
      mark(tree, nil, "dissector could not read it: " .. tostring(more))
    elseif more == "more" then
      tree:append_text(", part of a longer list (reassembled in a later segment)")
      pinfo.cols.info = "peerchat list (continued)"
      return tvb:len()
    end
  else
    safely(tree, dissect_udp_bytes, tree, tvb)
  end
  pinfo.cols.info = table.concat(seen_types, " / ") .. "  " .. table.concat(seen_info, " ")
  return tvb:len()
end

-- Heuristics: any UDP or TCP port, when the bytes look like peerchat.
local function heur_udp(tvb, pinfo, root)
  local n = tvb:len()
  if n == 0 then return false end
  local ok, yes = pcall(function()
    local b = tvb(0, 1):uint()
    if b >= 1 and b <= 3 then return frame_ok(tvb, 0) end
    if b == 4 and n >= 3 then
      local len = tvb(1, 1):uint()
      return len >= 1 and len <= 128 and n > 2 + len and frame_ok(tvb, 2 + len)
    end
    if b == 5 and n >= 2 then return frame_ok(tvb, 1) end
    local head = tvb:raw(0, math.min(n, 64))
    local text = head
    text = decode_text(head, 0) -- UTF-16LE decoded, a UTF-8 byte-order mark dropped
    return is_text_start(text)
  end)
  if not (ok and yes) then return false end
  peerchat.dissector(tvb, pinfo, root)
  return true
end

local function heur_tcp(tvb, pinfo, root)
  local n = tvb:len()
  if n == 0 then return false end
  local ok, yes = pcall(function()
    local stream = tcp_stream_f()
    local since = data_streams[(stream and tostring(stream) or "?") .. ":" .. tostring(pinfo.src_port)]
    if since and pinfo.number >= since then return true end
    local head = tvb:raw(0, math.min(n, 200))
    local word = head:match("^(%l+) ")
    if word and LINE_SPEC[word] and head:find("\n", 1, true) then return true end
    if head == "ok\n" or head:match("^ok\nhello ") then return true end
    local full = tvb:raw()
    if full == "end" then return true end
    if list_start(full) then return true end
    return false
  end)
  if not (ok and yes) then return false end
  peerchat.dissector(tvb, pinfo, root)
  return true
end

-- The default ports: the coordinator's login port 8888 (UDP; its TCP transit port too),
-- its NAT-type port 8889 and the discovery port 8887. The list's TCP port is any free port
-- by default (--tcp-port 0): the TCP heuristic finds it.
local udp_table = DissectorTable.get("udp.port")
udp_table:add(8888, peerchat)
udp_table:add(8889, peerchat)
udp_table:add(8887, peerchat)
DissectorTable.get("tcp.port"):add(8888, peerchat)
peerchat:register_heuristic("udp", heur_udp)
peerchat:register_heuristic("tcp", heur_tcp)
