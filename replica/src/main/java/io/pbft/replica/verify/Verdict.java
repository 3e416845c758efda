package io.pbft.replica.verify;

/** The outcome of checking one untrusted input: the checked value, or the reason it was refused. */
public record Verdict<T>(T value, String reason) {
  public static <T> Verdict<T> ok(T value) {
    return new Verdict<>(value, null);
  }

  public static <T> Verdict<T> rejected(String reason) {
    return new Verdict<>(null, reason);
  }

  public boolean isOk() {
    return reason == null;
  }
}
