package io.pbft.chaos.script;

import java.util.ArrayList;
import java.util.List;

/**
 * A scenario script as text, in the style of etcd raft's datadriven test files: each command on a
 * line, then a line {@code ----}, then the output the command is expected to produce, then a blank
 * line. Lines starting with {@code #} and blank lines between blocks are kept as they are. A
 * command written without {@code ----} expects no output yet (an update run fills it in).
 */
public final class ScriptFile {
  /** The separator between a command and its expected output. */
  public static final String SEPARATOR = "----";

  /**
   * One command: the comments and blank lines before it, the command line (at {@code line},
   * counted from 1) and the expected output lines (starting at {@code line + 2}).
   */
  public record Block(List<String> leading, int line, String command, List<String> expected) {
    public Block {
      leading = List.copyOf(leading);
      expected = List.copyOf(expected);
    }
  }

  private final String name;
  private final List<Block> blocks;
  private final List<String> trailing;

  private ScriptFile(String name, List<Block> blocks, List<String> trailing) {
    this.name = name;
    this.blocks = List.copyOf(blocks);
    this.trailing = List.copyOf(trailing);
  }

  public static ScriptFile parse(String name, String text) {
    String[] lines = text.split("\r?\n", -1);
    int count = lines.length;
    if (count > 0 && lines[count - 1].isEmpty()) {
      count--; // the text ends with a newline
    }
    List<Block> blocks = new ArrayList<>();
    List<String> leading = new ArrayList<>();
    int i = 0;
    while (i < count) {
      String line = lines[i];
      if (line.isBlank() || line.startsWith("#")) {
        leading.add(line);
        i++;
        continue;
      }
      int commandLine = i + 1;
      i++;
      List<String> expected = new ArrayList<>();
      if (i < count && lines[i].equals(SEPARATOR)) {
        i++;
        while (i < count && !lines[i].isEmpty()) {
          expected.add(lines[i]);
          i++;
        }
        if (i < count) {
          i++; // the blank line that ends the block
        }
      } else if (i < count && lines[i].isEmpty()) {
        i++; // a command not run yet: the blank line after it ends its block
      }
      blocks.add(new Block(leading, commandLine, line.strip(), expected));
      leading = new ArrayList<>();
    }
    return new ScriptFile(name, blocks, leading);
  }

  /** The file's name, for messages. */
  public String name() {
    return name;
  }

  public List<Block> blocks() {
    return blocks;
  }

  /** The text with each block's expected output replaced by {@code outputs} (one list per block). */
  public String render(List<List<String>> outputs) {
    if (outputs.size() != blocks.size()) {
      throw new IllegalArgumentException(outputs.size() + " outputs for " + blocks.size() + " blocks");
    }
    StringBuilder b = new StringBuilder();
    for (int k = 0; k < blocks.size(); k++) {
      Block block = blocks.get(k);
      block.leading().forEach(l -> b.append(l).append('\n'));
      b.append(block.command()).append('\n').append(SEPARATOR).append('\n');
      outputs.get(k).forEach(l -> b.append(l).append('\n'));
      b.append('\n');
    }
    trailing.forEach(l -> b.append(l).append('\n'));
    return b.toString();
  }
}
