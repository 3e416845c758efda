package io.pbft.docker;

import io.pbft.client.ClusterChannels;
import io.pbft.client.KvClient;
import io.pbft.client.PbftClient;
import io.pbft.config.ClusterConfig;
import io.pbft.testkit.KvStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The clients a cluster hands out, on channels they share (opened on first use), all closed with it. */
final class ClusterClients implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ClusterClients.class);

  private final ClusterConfig hostConfig;
  private final ClusterOptions options;
  private ClusterChannels channels;
  private final List<AutoCloseable> handedOut = new ArrayList<>();
  private final Map<Integer, KvStore> stores = new TreeMap<>();

  ClusterClients(ClusterConfig hostConfig, ClusterOptions options) {
    this.hostConfig = hostConfig;
    this.options = options;
  }

  PbftClient client(int clientId) {
    if (channels == null) {
      channels = ClusterChannels.open(hostConfig);
    }
    PbftClient client = PbftClient.newBuilder().channels(channels).clientId(clientId)
        .operationTimeout(options.operationTimeout).build();
    handedOut.add(client);
    return client;
  }

  /** One store per identity. */
  KvStore kv(int clientId) {
    return stores.computeIfAbsent(clientId, c -> KvStore.of(KvClient.owning(client(c))));
  }

  @Override
  public void close() {
    for (int i = handedOut.size() - 1; i >= 0; i--) {
      try {
        handedOut.get(i).close();
      } catch (Exception e) {
        log.debug("closing a client failed", e);
      }
    }
    if (channels != null) {
      channels.close();
    }
  }
}
