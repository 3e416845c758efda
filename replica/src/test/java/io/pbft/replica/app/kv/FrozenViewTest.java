package io.pbft.replica.app.kv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import io.pbft.replica.app.StateMachine;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A frozen view serializes the state as it was when frozen, whatever changed afterwards. */
class FrozenViewTest {
  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static void run(StateMachine kv, Random random, int ops) {
    List<Operation> batch = new ArrayList<>();
    for (int i = 0; i < ops; i++) {
      String key = "k" + random.nextInt(50);
      byte[] op = switch (random.nextInt(4)) {
        case 0 -> KvOperations.delete(b(key));
        case 1 -> KvOperations.cas(b(key), null, b("new" + i));
        default -> KvOperations.put(b(key), b("v" + i));
      };
      batch.add(new Operation(0, i, op));
    }
    kv.execute(new ExecutionContext(1), batch);
  }

  @Test
  void inMemoryViewsKeepTheirStateWhileTheStoreMovesOnAndViewsAreReleased() {
    Random random = new Random(5);
    KvStateMachine kv = new KvStateMachine();
    List<StateMachine.Frozen> views = new ArrayList<>();
    List<byte[]> expected = new ArrayList<>();
    for (int round = 0; round < 6; round++) {
      run(kv, random, 40);
      expected.add(kv.snapshot());
      views.add(kv.freeze());
    }
    run(kv, random, 40);
    // Release some views in the middle and at the end; the others still read their own state.
    views.get(2).release();
    views.get(5).release();
    run(kv, random, 40);
    for (int i : new int[] {0, 1, 3, 4}) {
      assertArrayEquals(expected.get(i), views.get(i).bytes(), "view " + i);
    }
    // Serialized once, still right after more changes.
    run(kv, random, 40);
    assertArrayEquals(expected.get(0), views.get(0).bytes());
  }

  @Test
  void rocksViewsReadTheStateAsItWasWhenFrozen(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
    Random random = new Random(7);
    try (RocksKvStateMachine kv = RocksKvStateMachine.open(dir)) {
      kv.recover();
      run(kv, random, 80);
      byte[] expected = kv.snapshot();
      StateMachine.Frozen view = kv.freeze();
      run(kv, random, 80);
      assertArrayEquals(expected, view.bytes());
      view.release();
    }
  }

  @Test
  void viewsSurviveARestoreOfTheWholeState() {
    Random random = new Random(9);
    KvStateMachine kv = new KvStateMachine();
    run(kv, random, 60);
    byte[] before = kv.snapshot();
    StateMachine.Frozen view = kv.freeze();
    KvStateMachine other = new KvStateMachine();
    run(other, new Random(10), 60);
    kv.restore(other.snapshot());
    assertArrayEquals(before, view.bytes());
  }
}
