package io.pbft.chaos.sim;

import io.pbft.config.Authentication;
import io.pbft.config.ClientInfo;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ProtocolSettings;
import io.pbft.config.ReplicaInfo;
import io.pbft.config.TransportSettings;
import com.google.protobuf.ByteString;
import io.pbft.crypto.Digests;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.RequestMacs;
import io.pbft.proto.RequestMac;
import io.pbft.crypto.SessionHandshake;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The Ed25519 keys of a simulated group, drawn from a generator: the replicas' first, then the
 * clients'. The one place keys are derived for the simulator and for scripts, so that a script
 * written from a simulator run ({@code keys=S}) signs with exactly the keys the run of seed S used.
 */
public record ClusterKeys(List<Ed25519Keys> replicas, List<Ed25519Keys> clients) {
  public ClusterKeys {
    replicas = List.copyOf(replicas);
    clients = List.copyOf(clients);
  }

  /** The keys the simulation of seed {@code seed} uses (its master generator's first draw seeds them). */
  public static ClusterKeys ofSimulationSeed(long seed, int replicas, int clients) {
    return draw(new Random(new Random(seed).nextLong()), replicas, clients);
  }

  /** Draws {@code replicas} replica keys, then {@code clients} client keys, from {@code random}. */
  public static ClusterKeys draw(Random random, int replicas, int clients) {
    SecureRandom source = new SecureRandom() {
      @Override
      public void nextBytes(byte[] bytes) {
        random.nextBytes(bytes);
      }
    };
    List<Ed25519Keys> replicaKeys = new ArrayList<>();
    for (int i = 0; i < replicas; i++) {
      replicaKeys.add(Ed25519Keys.generate(source));
    }
    List<Ed25519Keys> clientKeys = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      clientKeys.add(Ed25519Keys.generate(source));
    }
    return new ClusterKeys(replicaKeys, clientKeys);
  }

  /** Every identity's keys: the replicas', then the clients'. */
  public List<Ed25519Keys> all() {
    List<Ed25519Keys> all = new ArrayList<>(replicas);
    all.addAll(clients);
    return all;
  }

  /** A cluster configuration with these keys (simulated addresses), for the inbound verifier. */
  public ClusterConfig config(int f, ProtocolSettings protocol) {
    return config(f, protocol, Authentication.SIGNATURES);
  }

  /** As {@link #config(int, ProtocolSettings)}, with clients authenticating requests by {@code authentication}. */
  public ClusterConfig config(int f, ProtocolSettings protocol, Authentication authentication) {
    List<ReplicaInfo> replicaInfos = new ArrayList<>();
    for (int i = 0; i < replicas.size(); i++) {
      replicaInfos.add(new ReplicaInfo(i, "sim", 10_000 + i, replicas.get(i).publicKey(), null));
    }
    List<ClientInfo> clientInfos = new ArrayList<>();
    for (int c = 0; c < clients.size(); c++) {
      clientInfos.add(new ClientInfo(c, clients.get(c).publicKey(), null));
    }
    return new ClusterConfig(replicaInfos, clientInfos, f, protocol, TransportSettings.defaults(), null,
        authentication);
  }

  /**
   * The request key client {@code client} shares with replica {@code replica} in a simulation
   * ({@code authentication: macs}): derived from the pair alone, so it draws nothing from the
   * run's generators. Real clients agree one per session in the signed handshake.
   */
  public static SessionHandshake.SessionKey requestKey(int client, int replica) {
    return REQUEST_KEYS.computeIfAbsent(((long) client << 32) | (replica & 0xffffffffL), k -> {
      byte[] key = Digests.sha256(("pbft sim request key " + client + " " + replica)
          .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      return new SessionHandshake.SessionKey(ByteString.copyFrom(key, 0, RequestMacs.KEY_ID_BYTES), key);
    });
  }

  /** Request keys by (client, replica): pure functions of the pair, so every simulation shares them. */
  private static final java.util.concurrent.ConcurrentHashMap<Long, SessionHandshake.SessionKey> REQUEST_KEYS =
      new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * Client {@code client}'s authenticator entry for replica {@code replica}: HMAC-SHA256 under
   * their request key, or with {@code fastCrypto} the simulator's stand-in ({@link
   * FastSignatures#requestMac}), which the simulation's verifiers then check.
   */
  static RequestMac macEntry(boolean fastCrypto, int client, int replica, ByteString request) {
    SessionHandshake.SessionKey key = requestKey(client, replica);
    if (!fastCrypto) {
      return RequestMacs.entry(replica, key, request);
    }
    return RequestMac.newBuilder().setReplicaId(replica).setKeyId(key.keyId())
        .setMac(ByteString.copyFrom(FastSignatures.requestMac(key.key(), request))).build();
  }
}
