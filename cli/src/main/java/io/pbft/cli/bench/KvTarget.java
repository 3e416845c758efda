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

  @Override
  void close();
}
