package io.pbft.cli.bench;

import io.pbft.client.ClusterChannels;
import io.pbft.client.KvClient;
import io.pbft.client.PbftClient;
import io.pbft.config.ClusterConfig;
import io.pbft.proto.SignedRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/** One {@link PbftClient} per client identity, all multiplexed over one shared channel pool. */
public final class ReplicatedTarget implements KvTarget {
  private final ClusterChannels channels;
  private final List<PbftClient> clients = new ArrayList<>();
  private volatile KvClient.ReadMode readMode = KvClient.ReadMode.READ_ONLY;

  /**
   * @param clientIds the configuration's client identities to use, one per closed-loop client
   * @param sendToAll whether each request's first send goes to every replica (see {@code
   *     PbftClientBuilder.sendToAll})
   */
  public ReplicatedTarget(ClusterConfig config, List<Integer> clientIds, Duration operationTimeout,
      boolean sendToAll) {
    this(config, clientIds, operationTimeout, sendToAll, null);
  }

  /** @param requestListener told of every request each client sends (see {@link RequestCapture}), or null */
  public ReplicatedTarget(ClusterConfig config, List<Integer> clientIds, Duration operationTimeout,
      boolean sendToAll, Consumer<SignedRequest> requestListener) {
    this.channels = ClusterChannels.open(config);
    try {
      for (int id : clientIds) {
        clients.add(PbftClient.newBuilder()
            .config(config)
            .clientId(id)
            .channels(channels)
            .operationTimeout(operationTimeout)
            .sendToAll(sendToAll)
            .requestListener(requestListener)
            .build());
      }
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  @Override
  public int clients() {
    return clients.size();
  }

  @Override
  public byte[] execute(int client, byte[] operation) {
    return clients.get(client).invokeBlocking(operation);
  }

  /** How {@link #read} sends gets: read-only (the default, as KvClient.get) or ordered. */
  public ReplicatedTarget readMode(KvClient.ReadMode mode) {
    this.readMode = java.util.Objects.requireNonNull(mode, "mode");
    return this;
  }

  @Override
  public byte[] read(int client, byte[] operation) {
    PbftClient c = clients.get(client);
    return readMode == KvClient.ReadMode.READ_ONLY ? c.invokeReadOnlyBlocking(operation) : c.invokeBlocking(operation);
  }

  /** Reads answered read-only (2f + 1 matching answers), summed over the clients. */
  public long readOnlyAnswered() {
    return clients.stream().mapToLong(PbftClient::readOnlyAnswered).sum();
  }

  /** Read-only reads that fell back to ordering, summed over the clients. */
  /** Ordered operations the clients accepted on tentative replies (protocol.tentativeExecution). */
  public long tentativeAccepted() {
    return clients.stream().mapToLong(PbftClient::tentativeAccepted).sum();
  }

  public long readOnlyFallbacks() {
    return clients.stream().mapToLong(PbftClient::readOnlyFallbacks).sum();
  }

  @Override
  public void close() {
    clients.forEach(PbftClient::close);
    channels.close();
  }
}
