package io.pbft.chaos.sim;

import com.google.protobuf.ByteString;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Equal state at every checkpoint: the state digest each correct replica announces in its own
 * CHECKPOINT at sequence number n (taken right after executing n) must be the same at all of
 * them. Agreement on each batch implies it; this catches what agreement cannot see, such as a
 * null request executed at one replica where another executed a batch, or a state that went
 * wrong without executing anything (a bad state transfer).
 */
final class CheckpointLog {
  private record First(int replica, ByteString digest) {}

  private final Map<Long, First> bySequence = new HashMap<>();
  private final Consumer<String> violation;
  private long checked;

  CheckpointLog(Consumer<String> violation) {
    this.violation = violation;
  }

  /** Correct replica {@code replica} announced {@code digest} as its state at {@code sequence}. */
  void announced(int replica, long sequence, ByteString digest) {
    checked++;
    First first = bySequence.putIfAbsent(sequence, new First(replica, digest));
    if (first != null && !first.digest().equals(digest)) {
      violation.accept("checkpoint: at n=" + sequence + " replica " + first.replica() + " has state "
          + Trace.shortHex(first.digest()) + " but replica " + replica + " has " + Trace.shortHex(digest));
    }
  }

  /** CHECKPOINTs compared. */
  long checked() {
    return checked;
  }
}
