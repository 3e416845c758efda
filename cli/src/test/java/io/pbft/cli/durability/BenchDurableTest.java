package io.pbft.cli.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pbft.cli.Main;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

/** bench --durable: replicas with data directories under bench's temporary directory. */
class BenchDurableTest {
  private record Result(int code, String out, String err) {
    @Override
    public String toString() {
      return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
  }

  private static Result bench(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Main.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    String[] all = new String[args.length + 1];
    all[0] = "bench";
    System.arraycopy(args, 0, all, 1, args.length);
    int code = cl.execute(all);
    return new Result(code, out.toString(), err.toString());
  }

  @Test
  void durableNeedsReplicasBenchStarts() {
    for (Result r : List.of(bench("--durable", "--unreplicated"), bench("--durable", "--config", "cluster.yaml"))) {
      assertEquals(2, r.code, r.toString());
      assertTrue(r.err.contains("--durable applies to replica processes that bench starts itself"), r.toString());
    }
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void durableRunReportsDiskAndStopsEverything() throws Exception {
    Result r = bench("--durable", "--clients", "4", "--warmup", "1", "--duration", "4", "--json");
    assertEquals(0, r.code, r.toString());
    JsonNode result = new ObjectMapper().readTree(r.out);
    assertTrue(result.get("durable").asBoolean(), r.toString());
    assertEquals("replicated", result.get("mode").asText());
    assertTrue(result.get("operations").asLong() > 0, r.toString());
    JsonNode disk = result.get("dataDirBytes");
    assertEquals(4, disk.size(), r.toString());
    disk.forEach(b -> assertTrue(b.asLong() > 0, "an empty data directory: " + r));
    assertTrue(r.err.contains("started 4 durable replica processes"), r.toString());
    List<ProcessHandle> left = ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).toList();
    assertEquals(List.of(), left, "processes bench started are still running");
  }
}
