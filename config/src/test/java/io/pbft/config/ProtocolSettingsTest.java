package io.pbft.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ProtocolSettingsTest {
  @Test
  void defaultsAreEveryDeclaredDefault() {
    ProtocolSettings p = ProtocolSettings.defaults();
    for (Setting s : ProtocolSettings.GROUP.settings()) {
      assertEquals(s.defaultValue(), p.get(s), s.key());
    }
    TransportSettings t = TransportSettings.defaults();
    for (Setting s : TransportSettings.GROUP.settings()) {
      assertEquals(s.defaultValue(), t.get(s), s.key());
    }
    assertEquals(ProtocolSettings.newBuilder().build(), ProtocolSettings.defaults());
  }

  @Test
  void builderChangesOnlyTheSettingsItIsGiven() {
    ProtocolSettings p = ProtocolSettings.newBuilder().windowSize(64).checkpointInterval(16).build();
    assertEquals(64, p.windowSize());
    assertEquals(16, p.checkpointInterval());
    ProtocolSettings d = ProtocolSettings.defaults();
    for (Setting s : ProtocolSettings.GROUP.settings()) {
      if (s != ProtocolSettings.WINDOW_SIZE && s != ProtocolSettings.CHECKPOINT_INTERVAL) {
        assertEquals(d.get(s), p.get(s), s.key());
      }
    }
  }

  @Test
  void toBuilderStartsFromTheseSettingsAndLeavesThemUnchanged() {
    ProtocolSettings p = ProtocolSettings.newBuilder().batchSizeMax(7).build();
    ProtocolSettings q = p.toBuilder().viewChangeTimeoutMs(500).build();
    assertEquals(7, q.batchSizeMax());
    assertEquals(500, q.viewChangeTimeoutMs());
    assertEquals(1000, p.viewChangeTimeoutMs());
    assertNotEquals(p, q);
    assertEquals(q, p.withViewChangeTimeoutMs(500));
    assertEquals(q.hashCode(), p.withViewChangeTimeoutMs(500).hashCode());
  }

  @Test
  void rulesAreCheckedAtBuildSoSettingsThatConstrainEachOtherCanChangeTogether() {
    // One at a time, the first step breaks windowSize >= 2 * checkpointInterval ...
    assertThrows(ConfigException.class, () -> ProtocolSettings.defaults().withWindowSize(16));
    // ... while the builder checks only the result.
    ProtocolSettings p = ProtocolSettings.defaults().toBuilder().windowSize(16).checkpointInterval(8).build();
    assertEquals(16, p.windowSize());
  }

  @Test
  void everyWithMethodChecksItsResult() {
    ProtocolSettings d = ProtocolSettings.defaults();
    assertThrows(ConfigException.class, () -> d.withBatchSizeMax(0));
    assertThrows(ConfigException.class, () -> d.withPipelineDepthMax(0));
    assertThrows(ConfigException.class, () -> d.withCheckpointInterval(1000));
    assertThrows(ConfigException.class, () -> d.withViewChangeTimeoutMs(49));
    assertThrows(ConfigException.class, () -> d.withStateChunkBytesMax(511));
    assertEquals(512, d.withStateChunkBytesMax(512).stateChunkBytesMax());
  }

  @Test
  void aSettingOfAnotherGroupIsRefused() {
    assertThrows(IllegalArgumentException.class,
        () -> ProtocolSettings.newBuilder().set(TransportSettings.TICK_MS, 10));
    assertThrows(IllegalArgumentException.class, () -> ProtocolSettings.defaults().get(TransportSettings.TICK_MS));
  }

  @Test
  void transportBuilderSetsTheRuntimeSettings() {
    TransportSettings t = TransportSettings.newBuilder().tickMs(5).eventLoopBurstMax(16).clientSendBufferBytes(4096)
        .build();
    assertEquals(5, t.tickMs());
    assertEquals(16, t.eventLoopBurstMax());
    assertEquals(4096, t.clientSendBufferBytes());
    assertEquals(TransportSettings.defaults().messageBytesMax(), t.messageBytesMax());
    assertEquals(t, t.toBuilder().build());
    assertTrue(t.toString().contains("tickMs=5"), t.toString());
  }

  @Test
  void settingsMovedFromConstantsKeepTheirFormerValuesAsDefaults() {
    TransportSettings t = TransportSettings.defaults();
    assertEquals(20, t.tickMs(), "ReplicaServer.TICK_MS");
    assertEquals(64, t.eventLoopBurstMax(), "EventLoop.BURST_MAX");
    assertEquals(1 << 20, t.clientSendBufferBytes(), "ClientSession.SEND_BUFFER_BYTES");
    ProtocolSettings p = ProtocolSettings.defaults();
    assertEquals(64, p.catchUpBatchesMax(), "ReplicaCore.CATCH_UP_BATCHES_MAX");
    assertEquals(6, p.viewChangeBackoffDoublingsMax(), "ReplicaCore.BACKOFF_DOUBLINGS_MAX");
    assertEquals(3, p.aheadCheckpointVotesMax(), "StateTransfer.AHEAD_VOTES_MAX");
  }
}
