// Intentionally empty: the start-up reference (`deno run` of a script that does nothing).
