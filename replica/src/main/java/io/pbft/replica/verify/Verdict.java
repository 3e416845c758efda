package io.pbft.replica.verify;

/**
 * The outcome of checking one untrusted input: the checked value, or the reason it was refused
 * (with a detail for logs, which may be empty).
 */
public record Verdict<T>(T value, Rejection reason, String detail) {
  public static <T> Verdict<T> ok(T value) {
    return new Verdict<>(value, null, "");
  }

  public static <T> Verdict<T> rejected(Rejection reason) {
    return new Verdict<>(null, reason, "");
  }

  public static <T> Verdict<T> rejected(Rejection reason, String detail) {
    return new Verdict<>(null, reason, detail);
  }

  public boolean isOk() {
    return reason == null;
  }

  /** The reason and its detail, for a log line or a rejection sent to a client. */
  public String describe() {
    return reason == null ? "ok" : detail.isEmpty() ? reason.label() : reason.label() + " (" + detail + ")";
  }
}
