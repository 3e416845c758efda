package io.pbft.docker;

import io.pbft.proto.StatusResponse;
import io.pbft.testkit.ClusterTimeoutException;
import io.pbft.testkit.Polling;
import io.pbft.testkit.StatusProbe;
import io.pbft.testkit.Statuses;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/** The replicas' Status RPC, asked on the ports published on the host, and waiting for agreement. */
final class ContainerStatus implements AutoCloseable {
  private final StatusProbe probe;

  ContainerStatus(ClusterFiles files) {
    this.probe = StatusProbe.open(files.hostConfig());
  }

  StatusResponse status(int id, Duration timeout) {
    return probe.status(id, timeout);
  }

  Optional<StatusResponse> tryStatus(int id, Duration timeout) {
    StatusProbe.Answer a = probe.ask(id, timeout);
    return Optional.ofNullable(a.status());
  }

  /**
   * Waits until every replica in {@code ids} answers with the same last executed sequence number
   * (at least {@code atLeast}) and the same state digest, and returns their statuses.
   */
  List<StatusResponse> awaitAgreement(Collection<Integer> ids, long atLeast, Duration timeout) {
    List<Integer> order = List.copyOf(ids);
    List<StatusResponse> last = new ArrayList<>();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      last.clear();
      for (int id : order) {
        last.add(tryStatus(id, Duration.ofSeconds(2)).orElse(null));
      }
      if (Statuses.agree(last) && last.get(0).getLastExecuted() >= atLeast) {
        return List.copyOf(last);
      }
      if (System.nanoTime() > deadline) {
        throw new ClusterTimeoutException("replicas " + order + " did not agree (last executed >= " + atLeast
            + ") within " + timeout.toSeconds() + " s:" + Statuses.describe(order, last));
      }
      Polling.sleep(Duration.ofMillis(250));
    }
  }

  @Override
  public void close() {
    probe.close();
  }
}
