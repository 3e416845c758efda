package io.pbft.replica.app.kv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;

class KvDigestTest {
  private static ByteString s(String value) {
    return ByteString.copyFromUtf8(value);
  }

  @Test
  void aDecodedAccumulatorGivesTheSameDigestAndKeepsWorking() {
    KvDigest digest = new KvDigest();
    digest.add(s("a"), s("1"));
    digest.add(s("b"), s("2"));
    digest.replace(s("a"), s("1"), s("3"));
    KvDigest decoded = KvDigest.decode(digest.encode());
    assertArrayEquals(digest.digest(), decoded.digest());
    assertEquals(2, decoded.count());

    digest.remove(s("b"), s("2"));
    decoded.remove(s("b"), s("2"));
    assertArrayEquals(digest.digest(), decoded.digest());
  }

  @Test
  void addingThenRemovingReturnsToTheEmptyDigest() {
    KvDigest digest = new KvDigest();
    byte[] empty = digest.digest();
    digest.add(s("k"), s("v"));
    digest.remove(s("k"), s("v"));
    assertArrayEquals(empty, digest.digest());
    assertEquals(0, digest.count());
  }

  @Test
  void aDamagedAccumulatorIsRefused() {
    byte[] encoded = new KvDigest().encode();
    assertThrows(IllegalArgumentException.class, () -> KvDigest.decode(new byte[encoded.length - 1]));
    encoded[0] = (byte) 0x80;  // negative count
    assertThrows(IllegalArgumentException.class, () -> KvDigest.decode(encoded));
  }

  /**
   * Stores sharing a cache of entry hashes (the replicas of a simulation) get exactly the digests
   * of stores computing every hash themselves, also once the cache has started afresh.
   */
  @Test
  void sharedEntryHashesChangeNoDigest() {
    KvDigestCache cache = new KvDigestCache(3);
    KvDigest alone = new KvDigest();
    KvDigest first = new KvDigest(cache);
    KvDigest second = new KvDigest(cache);
    for (int i = 0; i < 10; i++) {
      for (KvDigest d : new KvDigest[] {alone, first, second}) {
        d.replace(s("k" + i % 4), i < 4 ? null : s("v" + (i - 4)), s("v" + i));
        if (i % 3 == 2) {
          d.remove(s("k" + i % 4), s("v" + i));
        }
      }
      assertArrayEquals(alone.digest(), first.digest(), "after write " + i);
      assertArrayEquals(alone.digest(), second.digest(), "after write " + i);
    }
    assertThrows(IllegalArgumentException.class, () -> new KvDigestCache(0));
  }
}
