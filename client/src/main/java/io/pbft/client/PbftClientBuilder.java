package io.pbft.client;

import io.pbft.config.ClusterConfig;
import io.pbft.config.ConfigException;
import io.pbft.config.ReplicaInfo;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.proto.SignedRequest;
import java.time.Duration;
import java.util.Arrays;
import java.util.function.Consumer;

/** Configures a {@link PbftClient}; {@code config} (or {@code channels}) and {@code clientId} are required. */
public final class PbftClientBuilder {
  private ClusterConfig config;
  private int clientId = -1;
  private Ed25519Keys keys;
  private Duration requestTimeout = PbftClient.DEFAULT_REQUEST_TIMEOUT;
  private Duration readOnlyTimeout = PbftClient.DEFAULT_READ_ONLY_TIMEOUT;
  private boolean sendToAll = true;
  private Duration operationTimeout = PbftClient.DEFAULT_OPERATION_TIMEOUT;
  private ClusterChannels channels;
  private boolean clientCertificate;
  private int queueCapacity = PbftClient.DEFAULT_QUEUE_CAPACITY;
  private Consumer<SignedRequest> requestListener;

  PbftClientBuilder() {}

  public PbftClientBuilder config(ClusterConfig config) {
    this.config = config;
    return this;
  }

  public PbftClientBuilder clientId(int clientId) {
    this.clientId = clientId;
    return this;
  }

  /** The client's signing keys; default: loaded from the key file the configuration names. */
  public PbftClientBuilder keys(Ed25519Keys keys) {
    this.keys = keys;
    return this;
  }

  /** How long to wait for the primary before retransmitting to all replicas (default 1 s). */
  public PbftClientBuilder requestTimeout(Duration timeout) {
    this.requestTimeout = positive("requestTimeout", timeout);
    return this;
  }

  /**
   * How long a read-only operation ({@link PbftClient#invokeReadOnly}) waits for 2f + 1 matching
   * replies before it is sent again as an ordered request; default
   * {@link PbftClient#DEFAULT_READ_ONLY_TIMEOUT}.
   */
  public PbftClientBuilder readOnlyTimeout(Duration timeout) {
    this.readOnlyTimeout = positive("readOnlyTimeout", timeout);
    return this;
  }

  /**
   * Whether a request's first send goes to every replica (default) or to the presumed primary
   * alone. To all, each backup times the primary on every request from the start, so a primary
   * that crashed or delays requests on purpose is suspected within the replicas' adaptive
   * view-change timeout instead of after this client's request timeout; it costs each backup
   * one signature check per request, which it saves again when the request arrives in a batch.
   */
  public PbftClientBuilder sendToAll(boolean toAll) {
    this.sendToAll = toAll;
    return this;
  }

  /** How long to keep retransmitting before giving up (default 30 s). */
  public PbftClientBuilder operationTimeout(Duration timeout) {
    this.operationTimeout = positive("operationTimeout", timeout);
    return this;
  }

  /** Shared channels to use (and not close); default: the client opens and owns its own. */
  public PbftClientBuilder channels(ClusterChannels channels) {
    this.channels = channels;
    return this;
  }

  /**
   * With TLS on, present client {@code clientId}'s certificate ({@code config.clientTls(clientId)})
   * on the channels this client opens; default: none, the replicas being authenticated either
   * way. Shared {@link #channels} carry their own certificate ({@link ClusterChannels#open(
   * ClusterConfig, io.pbft.crypto.tls.TlsMaterial)}).
   */
  public PbftClientBuilder clientCertificate(boolean present) {
    this.clientCertificate = present;
    return this;
  }

  /** Operations {@link #invoke} accepts while one is outstanding (default 1024). */
  public PbftClientBuilder queueCapacity(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("queueCapacity must be at least 1, got " + capacity);
    }
    this.queueCapacity = capacity;
    return this;
  }

  /**
   * Told of every request the client sends, as it sends it: the first send and each
   * retransmission, once per send to the replicas (not once per replica), with the signature or
   * authenticator it carries then. For instrumentation, such as a benchmark that hands the
   * requests to a replaying attacker; default: none. It runs on the sending thread while the
   * client holds its lock, so it must be quick and must not call the client.
   */
  public PbftClientBuilder requestListener(Consumer<SignedRequest> listener) {
    this.requestListener = listener;
    return this;
  }

  public PbftClient build() {
    ClusterConfig cfg = config != null ? config : channels != null ? channels.config() : null;
    if (cfg == null) {
      throw new IllegalArgumentException("a cluster configuration is required (config(...) or channels(...))");
    }
    if (clientId < 0) {
      throw new IllegalArgumentException("clientId(...) is required and must not be negative");
    }
    if (channels != null && (channels.config().n() != cfg.n()
        || !channels.config().replicas().stream().map(ReplicaInfo::address).toList()
            .equals(cfg.replicas().stream().map(ReplicaInfo::address).toList()))) {
      throw new IllegalArgumentException("the shared channels were opened for other replica addresses");
    }
    if (channels != null && channels.isClosed()) {
      throw new IllegalArgumentException("the shared channels are closed");
    }
    Ed25519Keys k = keys != null ? keys : cfg.clientKeys(clientId);
    checkKeyMatchesConfig(cfg, k);
    boolean owns = channels == null;
    ClusterChannels ch = owns ? ClusterChannels.open(cfg,
        clientCertificate && cfg.tls().enabled() ? cfg.clientTls(clientId) : null) : channels;
    return new PbftClient(cfg, clientId, k, requestTimeout, operationTimeout, queueCapacity, ch, owns, sendToAll,
        requestListener, readOnlyTimeout);
  }

  private void checkKeyMatchesConfig(ClusterConfig cfg, Ed25519Keys k) {
    byte[] listed;
    try {
      listed = cfg.client(clientId).publicKey();
    } catch (ConfigException notListed) {
      return; // replicas will refuse the sessions; maybe their configuration is newer
    }
    if (!Arrays.equals(listed, k.publicKey())) {
      throw new IllegalArgumentException("the keys given for client " + clientId
          + " do not match its public key in the cluster configuration");
    }
  }

  private static Duration positive(String name, Duration d) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive, got " + d);
    }
    return d;
  }
}
