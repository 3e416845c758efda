package io.pbft.cli.bench;

/**
 * Where closed-loop clients send key-value operations: the replicated cluster or the
 * unreplicated baseline. Both take the same serialized KvOperation and return the serialized
 * KvResult, so the two modes differ only in what happens between.
 */
public interface KvTarget extends AutoCloseable {
  /** Number of clients; {@code client} arguments range over 0 .. clients() - 1. */
  int clients();

  /** Runs one operation as client {@code client} and waits for its result. */
  byte[] execute(int client, byte[] operation) throws Exception;

  /**
   * Runs a read (a get) as client {@code client}: the replicated target sends it read-only or
   * ordered as its read mode says ({@link ReplicatedTarget#readMode}); by default, as any operation.
   */
  default byte[] read(int client, byte[] operation) throws Exception {
    return execute(client, operation);
  }

  @Override
  void close();
}
