package io.pbft.cli.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Reads the collections a JVM logged with {@code -Xlog:gc:file=F:timemillis}: one line per pause,
 * e.g. {@code [1732170000123ms] GC(7) Pause Young (Allocation Failure) 24M->14M(58M) 4.141ms}.
 * The heap in use after each pause is what tells whether a long-running process keeps a bounded
 * live set; logging it costs the process nothing measurable, unlike attaching a tool to it.
 */
public final class GcLog {
  /** One pause: when it ended (epoch ms), which kind, heap used before and after, heap committed. */
  public record Pause(long epochMs, String kind, long usedBeforeBytes, long usedAfterBytes, long committedBytes) {
    public boolean full() {
      return kind.startsWith("Pause Full");
    }

    /** A full collection someone asked for (jcmd GC.run, System.gc()): its result is the live set. */
    public boolean forcedFull() {
      return full() && (kind.contains("Diagnostic Command") || kind.contains("System.gc()"));
    }
  }

  private static final Pattern PAUSE = Pattern.compile(
      "^\\[(\\d+)ms\\] GC\\(\\d+\\) (Pause .*?) (\\d+)([BKMG])->(\\d+)([BKMG])\\((\\d+)([BKMG])\\)");

  private GcLog() {}

  /** The pauses in {@code file}, in order; an absent file has none. */
  public static List<Pause> read(Path file) {
    if (!Files.exists(file)) {
      return List.of();
    }
    try (Stream<String> lines = Files.lines(file)) {
      return parse(lines.toList());
    } catch (IOException | UncheckedIOException e) {
      return List.of(); // a log cut short by a killed process: what was read is all there is
    }
  }

  public static List<Pause> parse(List<String> lines) {
    List<Pause> pauses = new ArrayList<>();
    for (String line : lines) {
      Matcher m = PAUSE.matcher(line);
      if (m.find()) {
        pauses.add(new Pause(Long.parseLong(m.group(1)), m.group(2),
            bytes(m.group(3), m.group(4)), bytes(m.group(5), m.group(6)), bytes(m.group(7), m.group(8))));
      }
    }
    return pauses;
  }

  private static long bytes(String amount, String unit) {
    long v = Long.parseLong(amount);
    return switch (unit) {
      case "K" -> v << 10;
      case "M" -> v << 20;
      case "G" -> v << 30;
      default -> v;
    };
  }
}
