package io.pbft.docker;

import com.github.dockerjava.api.exception.InternalServerErrorException;
import com.github.dockerjava.api.model.ContainerNetwork;
import java.util.Collection;
import java.util.Set;
import java.util.TreeSet;

/**
 * What goes wrong with a container cluster, through the Docker API: SIGKILL, SIGTERM, docker
 * pause and unpause, and taking a container off the cluster network and putting it back.
 */
final class ContainerFaults {
  private final ReplicaContainers containers;
  private final Set<Integer> isolated = new TreeSet<>();

  ContainerFaults(ReplicaContainers containers) {
    this.containers = containers;
  }

  /** SIGKILL: the replica dies at once. */
  void kill(int id) {
    containers.docker(id).killContainerCmd(containers.containerId(id)).exec();
    containers.awaitNotRunning(id);
  }

  /** SIGTERM and wait (up to 10 s, then SIGKILL): a graceful stop. */
  void stop(int id) {
    containers.docker(id).stopContainerCmd(containers.containerId(id)).withTimeout(10).exec();
    containers.awaitNotRunning(id);
  }

  /**
   * Starts the container again (same data volume, same published port) and waits until the
   * replica is healthy; a running one is stopped gracefully first, a paused one unpaused before
   * (a frozen process could not act on SIGTERM).
   */
  void restart(int id) {
    if (containers.isPaused(id)) {
      resume(id);
    }
    if (containers.isRunning(id)) {
      stop(id);
    }
    containers.startAgain(id);
  }

  /** As {@link #restart}, the containers started together, then each awaited. */
  void restartAll(Collection<Integer> ids) {
    for (int id : ids) {
      if (containers.isPaused(id)) {
        resume(id);
      }
      if (containers.isRunning(id)) {
        stop(id);
      }
    }
    ids.forEach(containers::startOnly);
    ids.forEach(containers::awaitHealthy);
  }

  /**
   * docker pause: every process of the container is frozen; its connections stay open.
   *
   * <p>The runtime sometimes gives up freezing a busy JVM ("OCI runtime pause failed: unable to
   * freeze"): the cgroup did not report frozen within its short poll, and the runtime thawed it
   * again. That is a transient refusal of the host, not a fault of the replica, so the pause is
   * tried again a few times before the error reaches the test.
   */
  void pause(int id) {
    InternalServerErrorException last = null;
    for (int attempt = 1; attempt <= PAUSE_ATTEMPTS; attempt++) {
      try {
        containers.docker(id).pauseContainerCmd(containers.containerId(id)).exec();
        return;
      } catch (InternalServerErrorException e) {
        if (!String.valueOf(e.getMessage()).contains("unable to freeze")) {
          throw e;
        }
        last = e;
        if (containers.isPaused(id)) {
          return; // frozen after all
        }
        System.err.println("[containers] docker pause of replica " + id + " refused (attempt " + attempt
            + " of " + PAUSE_ATTEMPTS + "): " + e.getMessage());
        sleep(200L * attempt);
      }
    }
    throw last;
  }

  private static final int PAUSE_ATTEMPTS = 6;

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while pausing a container", e);
    }
  }

  void resume(int id) {
    containers.docker(id).unpauseContainerCmd(containers.containerId(id)).exec();
  }

  /** Takes the container off the cluster network: no peer and no client reaches it, it reaches none. */
  void isolate(int id) {
    containers.docker(id).disconnectFromNetworkCmd().withNetworkId(containers.networkId())
        .withContainerId(containers.containerId(id)).withForce(true).exec();
    isolated.add(id);
  }

  /** Puts an isolated container back on the network under its host name (its address may change). */
  void reconnect(int id) {
    containers.docker(id).connectToNetworkCmd().withNetworkId(containers.networkId())
        .withContainerId(containers.containerId(id))
        .withContainerNetwork(new ContainerNetwork().withAliases(PbftCluster.hostName(id))).exec();
    isolated.remove(id);
  }

  /** Puts every isolated container back. */
  void heal() {
    for (int id : Set.copyOf(isolated)) {
      reconnect(id);
    }
  }
}
