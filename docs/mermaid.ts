/**
 * A structural check of Mermaid sequence diagrams, and of the message names
 * their arrows carry, so that PROTOCOL.md's drawings cannot drift from the
 * protocol it defines. This is not Mermaid's parser: it takes the subset
 * PROTOCOL.md uses (participants, arrows, notes, alt/else/opt/loop/par/and
 * blocks) and refuses what Mermaid would render wrongly: an undeclared
 * participant, a malformed arrow, an unbalanced block, a `;` or a bare `#` in
 * a text (Mermaid ends a statement at `;` and a text at `#`; write `#35;`).
 *
 * @module
 */

/** One arrow of a diagram. */
export interface Arrow {
  from: string;
  to: string;
  arrow: string;
  label: string;
  /** The 1-based line within the diagram. */
  line: number;
}

/** A diagram as read: its participants and arrows, or what is wrong with it. */
export interface Diagram {
  participants: string[];
  arrows: Arrow[];
  problems: string[];
}

const ARROWS = ["-->>", "->>", "-->", "->", "--x", "-x", "--)", "-)"];
const OPENERS = new Set(["alt", "opt", "loop", "par", "rect", "critical", "break"]);
const ARROW_LINE = new RegExp(
  `^([A-Za-z_][\\w]*)\\s*(${
    ARROWS.map((a) => a.replace(/[-)]/g, "\\$&")).join("|")
  })([+-]?)\\s*([A-Za-z_][\\w]*)\\s*:\\s*(.+)$`,
);

/** Why a diagram's text would not render as written, or undefined when it is fine. */
function textProblem(text: string): string | undefined {
  const plain = text.replace(/#\w+;/g, "");
  if (plain.includes(";")) return `";" ends a Mermaid statement: ${JSON.stringify(text)}`;
  if (plain.includes("#")) return `a bare "#" cuts a Mermaid text (write #35;): ${text}`;
  return undefined;
}

/** Reads one Mermaid block's text as a sequence diagram. */
export function parseSequenceDiagram(source: string): Diagram {
  const participants: string[] = [];
  const arrows: Arrow[] = [];
  const problems: string[] = [];
  const open: string[] = [];
  const lines = source.split("\n");
  let started = false;
  const known = (name: string, at: number) => {
    if (!participants.includes(name)) problems.push(`line ${at}: ${name} was not declared`);
  };
  lines.forEach((raw, index) => {
    const at = index + 1;
    const line = raw.trim();
    if (line === "" || line.startsWith("%%")) return;
    if (!started) {
      if (line !== "sequenceDiagram") problems.push(`line ${at}: not "sequenceDiagram": ${line}`);
      started = true;
      return;
    }
    const decl = /^(participant|actor)\s+([A-Za-z_]\w*)(?:\s+as\s+(.+))?$/.exec(line);
    if (decl) {
      if (participants.includes(decl[2])) problems.push(`line ${at}: ${decl[2]} declared twice`);
      if (arrows.length > 0) problems.push(`line ${at}: ${decl[2]} declared after the arrows`);
      const why = decl[3] === undefined ? undefined : textProblem(decl[3]);
      if (why) problems.push(`line ${at}: ${why}`);
      participants.push(decl[2]);
      return;
    }
    const note = /^Note\s+(over|left of|right of)\s+([\w\s,]+?)\s*:\s*(.+)$/.exec(line);
    if (note) {
      const who = note[2].split(",").map((w) => w.trim());
      if (who.length > (note[1] === "over" ? 2 : 1)) problems.push(`line ${at}: too many in note`);
      for (const w of who) known(w, at);
      const why = textProblem(note[3]);
      if (why) problems.push(`line ${at}: ${why}`);
      return;
    }
    const word = line.split(/\s+/)[0];
    if (OPENERS.has(word)) {
      open.push(word);
      const why = textProblem(line);
      if (why) problems.push(`line ${at}: ${why}`);
      return;
    }
    if (word === "else" || word === "and") {
      const want = word === "else" ? ["alt", "critical"] : ["par"];
      if (!want.includes(open.at(-1) ?? "")) {
        problems.push(`line ${at}: "${word}" outside ${want.join("/")}`);
      }
      return;
    }
    if (line === "end") {
      if (open.pop() === undefined) problems.push(`line ${at}: "end" closes nothing`);
      return;
    }
    if (line === "autonumber") return;
    const arrow = ARROW_LINE.exec(line);
    if (!arrow) {
      problems.push(`line ${at}: not a participant, arrow, note or block: ${line}`);
      return;
    }
    known(arrow[1], at);
    known(arrow[4], at);
    const label = arrow[5].trim();
    const why = textProblem(label);
    if (why) problems.push(`line ${at}: ${why}`);
    arrows.push({ from: arrow[1], to: arrow[4], arrow: arrow[2], label, line: at });
  });
  if (!started) problems.push("empty diagram");
  for (const block of open) problems.push(`"${block}" never closed with "end"`);
  return { participants, arrows, problems };
}

/**
 * The message names an arrow's label uses, each to be checked against the protocol's:
 * the label's first word (unless the label is a parenthesised remark such as `(TCP connect)`),
 * every word that starts a comma-separated message (`pong,alice,ok`: a comma with no space after it), the message inside each
 * `auth,SEQ,TAG,…` seal, the kind of each `msg,…` (its sixth field) and the first word of its body
 * when the kind is `file-answer`, and each Noise or relay frame written `0xNN` (with its name, for
 * frames 1 to 3: `0x01 init`).
 */
export function labelNames(label: string): string[] {
  const names: string[] = [];
  const text = label.replace(/#\w+;/g, "#");
  if (!text.startsWith("(")) {
    const first = /^(0x[0-9a-fA-F]{2}(?: \w+)?|[A-Za-z][A-Za-z0-9-]*)/.exec(text);
    names.push(first ? first[1] : text);
  }
  for (const m of text.matchAll(/(?:^|[\s(:])([a-zA-Z][A-Za-z0-9-]*),(?=\S)/g)) {
    if (/[a-z]/.test(m[1])) names.push(m[1]);
  }
  for (const m of text.matchAll(/\bauth,[^,\s]+,[^,\s]+,([A-Za-z][A-Za-z0-9-]*)/g)) {
    names.push(m[1]);
  }
  for (const m of text.matchAll(/\bmsg,(?:[^,]*,){4}([A-Za-z][A-Za-z0-9-]*)(,[^,]*,(\S+))?/g)) {
    names.push(m[1]);
    if (m[1] === "file-answer" && m[3] !== undefined) names.push(m[3]);
  }
  for (const m of text.matchAll(/\b(0x0[1-3]) (\w+)/g)) names.push(`${m[1]} ${m[2]}`);
  for (const m of text.matchAll(/\b(0x0[4-9a-f])\b/g)) names.push(m[1]);
  return [...new Set(names)];
}
