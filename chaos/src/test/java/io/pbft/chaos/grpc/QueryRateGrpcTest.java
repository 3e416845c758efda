package io.pbft.chaos.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pbft.chaos.outsider.Outsider;
import io.pbft.client.KvClient;
import io.pbft.proto.ClientServiceGrpc;
import io.pbft.proto.MembershipRequest;
import io.pbft.proto.StatusRequest;
import io.pbft.proto.StatusResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Status and Membership need no identity, so an outsider may ask them as fast as it can: beyond
 * {@code transport.queriesPerSecondMax} from its address they are refused before they reach the
 * event loop, counted, and answered again once the rate allows; the group meanwhile keeps ordering
 * a client's operations.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class QueryRateGrpcTest {
  @TempDir
  Path dir;

  private static final String OVER_RATE = "query over its address's rate";

  @Test
  void queriesBeyondTheRateAreRefusedAndCountedWhileTheGroupWorks() throws Exception {
    int perSecond = 20;
    try (GrpcCluster cluster = GrpcCluster.start(dir, 4, 1,
            ConnectionHygieneTest.transport(t -> t.queriesPerSecondMax(perSecond)));
        Outsider outsider = new Outsider();
        KvClient kv = cluster.kvClient(0)) {
      kv.put("before", "1");
      ManagedChannel ch = outsider.channel(cluster.config().replica(1).port());
      ClientServiceGrpc.ClientServiceBlockingStub stub = ClientServiceGrpc.newBlockingStub(ch);
      int answered = 0;
      int refused = 0;
      long start = System.nanoTime();
      for (int i = 0; i < 10 * perSecond; i++) {
        try {
          if (i % 2 == 0) {
            stub.withDeadlineAfter(5, TimeUnit.SECONDS).status(StatusRequest.getDefaultInstance());
          } else {
            stub.withDeadlineAfter(5, TimeUnit.SECONDS).membership(MembershipRequest.getDefaultInstance());
          }
          answered++;
        } catch (StatusRuntimeException e) {
          assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.toString());
          refused++;
        }
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      // The bucket starts full (perSecond) and gains perSecond a second while the loop runs.
      assertTrue(answered >= perSecond, "answered " + answered);
      assertTrue(answered <= perSecond + perSecond * seconds + 1,
          "answered " + answered + " in " + seconds + " s at " + perSecond + "/s");
      assertTrue(refused > 0, "refused nothing in " + seconds + " s");
      kv.put("during", "2"); // the group still orders operations
      Thread.sleep(1100); // the bucket refills
      StatusResponse afterwards = stub.withDeadlineAfter(5, TimeUnit.SECONDS).status(StatusRequest.getDefaultInstance());
      assertEquals(refused, afterwards.getDropped().getByReasonOrDefault(OVER_RATE, 0L), "refusals counted");
      assertEquals("2", kv.get("during").orElseThrow());
      List<StatusResponse> all = cluster.assertRunningReplicasAgree();
      for (StatusResponse s : all) {
        assertEquals(0, s.getView(), () -> GrpcCluster.describe(all));
      }
    }
  }
}
