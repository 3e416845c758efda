package io.pbft.chaos.sim;

import io.pbft.config.ClientInfo;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ProtocolSettings;
import io.pbft.config.ReplicaInfo;
import io.pbft.config.TransportSettings;
import io.pbft.crypto.Ed25519Keys;
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

  /** A cluster configuration with these keys (simulated addresses), for the inbound verifier. */
  public ClusterConfig config(int f, ProtocolSettings protocol) {
    List<ReplicaInfo> replicaInfos = new ArrayList<>();
    for (int i = 0; i < replicas.size(); i++) {
      replicaInfos.add(new ReplicaInfo(i, "sim", 10_000 + i, replicas.get(i).publicKey(), null));
    }
    List<ClientInfo> clientInfos = new ArrayList<>();
    for (int c = 0; c < clients.size(); c++) {
      clientInfos.add(new ClientInfo(c, clients.get(c).publicKey(), null));
    }
    return new ClusterConfig(replicaInfos, clientInfos, f, protocol, TransportSettings.defaults(), null);
  }
}
