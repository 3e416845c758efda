package io.pbft.cli.bench;

import java.util.Arrays;
import java.util.stream.Collectors;

/** What bench does to the primary during a run (--fault). */
public enum Fault {
  /** SIGKILL: the process is gone, its connections reset. */
  KILL_PRIMARY("kill-primary"),
  /**
   * SIGSTOP: the process keeps its sockets but stops reading and sending, which to the others is
   * a primary that fell silent. It is continued (SIGCONT) when bench stops the cluster.
   */
  SILENCE_PRIMARY("silence-primary");

  private final String option;

  Fault(String option) {
    this.option = option;
  }

  public String option() {
    return option;
  }

  /** The fault named {@code option}, or null if there is none by that name. */
  public static Fault parse(String option) {
    return Arrays.stream(values()).filter(f -> f.option.equals(option)).findFirst().orElse(null);
  }

  public static String names() {
    return Arrays.stream(values()).map(Fault::option).collect(Collectors.joining(", "));
  }
}
