package io.pbft.chaos.script;

/** A command a script cannot carry out (misspelt, or naming what does not exist): printed as its output. */
final class ScriptError extends RuntimeException {
  ScriptError(String message) {
    super(message, null, false, false);
  }
}
