package io.pbft.replica.core;

import io.pbft.proto.Reply;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.WalRecord;
import java.util.ArrayList;
import java.util.List;

/**
 * What the core wants done after handling one or more events. The caller takes the effects
 * out with {@link ReplicaCore#takeEffects()} and carries them out in this order:
 *
 * <ol>
 *   <li>{@link #records()} to append to the durable log (and {@link #compaction()}, when not
 *       null, the whole live state with which the log may restart), made durable BEFORE anything
 *       below is sent, so that a replica never contradicts, after a crash, what it said before;
 *   <li>{@link #messages()} to other replicas, in list order per destination;
 *   <li>{@link #replies()} to clients.
 * </ol>
 *
 * Application execution already happened inside the core, in sequence order, by the time the
 * effects are handed out; replies carry its results.
 */
public final class Effects {
  /** A signed message for one replica, or for every other replica when {@code to == ALL}. */
  public record Outgoing(int to, SignedMessage message) {
    public static final int ALL = -1;

    public boolean broadcast() {
      return to == ALL;
    }
  }

  /** A reply for a client; the runtime authenticates it under that client's session key. */
  public record ClientReply(int clientId, Reply reply) {}

  private final List<Outgoing> messages;
  private final List<ClientReply> replies;
  private final List<WalRecord> records = new ArrayList<>();
  private List<WalRecord> compaction;

  Effects(List<Outgoing> messages, List<ClientReply> replies) {
    this.messages = messages;
    this.replies = replies;
  }

  static Effects empty() {
    return new Effects(new ArrayList<>(), new ArrayList<>());
  }

  /** Records to append to the durable log before sending anything (empty when not durable). */
  public List<WalRecord> records() {
    return records;
  }

  /**
   * When not null: everything the log must still hold, after a checkpoint became stable. The
   * runtime appends these after {@link #records()} and then drops everything older.
   */
  public List<WalRecord> compaction() {
    return compaction;
  }

  void compactTo(List<WalRecord> live) {
    compaction = live;
  }

  public List<Outgoing> messages() {
    return messages;
  }

  public List<ClientReply> replies() {
    return replies;
  }

  public boolean isEmpty() {
    return messages.isEmpty() && replies.isEmpty() && records.isEmpty() && compaction == null;
  }
}
