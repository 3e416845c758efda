package io.pbft.chaos.script;

import java.util.ArrayList;
import java.util.List;

/**
 * What a command printed, in order. What an input caused is indented under the line that shows
 * the input, so the output reads as cause and effect.
 */
final class Output {
  private final List<String> lines = new ArrayList<>();
  private int indent;

  void line(String text) {
    lines.add("  ".repeat(indent) + text);
  }

  /** Prints {@code header}, then what {@code body} prints, indented. */
  void under(String header, Runnable body) {
    line(header);
    indented(body);
  }

  /** Like {@link #under}, but prints nothing at all if {@code body} prints nothing. */
  void underIfAny(String header, Runnable body) {
    int at = lines.size();
    indented(body);
    if (lines.size() > at) {
      lines.add(at, "  ".repeat(indent) + header);
    }
  }

  private void indented(Runnable body) {
    indent++;
    try {
      body.run();
    } finally {
      indent--;
    }
  }

  /** The lines printed since the last call, and a fresh start. */
  List<String> take() {
    List<String> out = List.copyOf(lines);
    lines.clear();
    indent = 0;
    return out;
  }
}
