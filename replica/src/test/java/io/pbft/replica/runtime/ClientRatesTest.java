package io.pbft.replica.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ClientRatesTest {
  private static final long SECOND = 1_000_000_000L;

  private static int taken(ClientRates rates, int client, long now, int tries) {
    int n = 0;
    for (int i = 0; i < tries; i++) {
      if (rates.tryAcquire(client, now)) {
        n++;
      }
    }
    return n;
  }

  @Test
  void aBurstOfOneSecondThenTheRate() {
    ClientRates rates = new ClientRates(100);
    long t = 5 * SECOND;
    assertEquals(100, taken(rates, 7, t, 20_000), "a full bucket holds one second's worth");
    assertFalse(rates.tryAcquire(7, t));
    assertEquals(10, taken(rates, 7, t + SECOND / 10, 1_000), "a tenth of a second refills a tenth");
    assertEquals(100, taken(rates, 7, t + 60 * SECOND, 1_000), "an idle minute refills no more than the bucket");
  }

  @Test
  void oneClientsFloodLeavesTheOthersTheirRate() {
    ClientRates rates = new ClientRates(50);
    long t = SECOND;
    assertEquals(50, taken(rates, 1, t, 100_000));
    assertTrue(rates.tryAcquire(2, t), "another client has a bucket of its own");
    assertEquals(49, taken(rates, 2, t, 1_000));
  }

  @Test
  void refillKeepsFractionsOfATokenAcrossCalls() {
    ClientRates rates = new ClientRates(1000); // a token per millisecond
    long t = SECOND;
    taken(rates, 3, t, 1000);
    int got = 0;
    for (int i = 1; i <= 400; i++) {
      got += taken(rates, 3, t + i * 500_000L, 1); // every half millisecond
    }
    assertEquals(200, got, "200 ms at 1000/s, asked twice per token");
  }

  @Test
  void anEmptyBucketSaysWhenItsNextTokenComes() {
    ClientRates rates = new ClientRates(1000); // a token per millisecond
    long t = SECOND;
    assertEquals(0, rates.nanosUntilToken(9, t), "a client never seen may send");
    assertEquals(1000, taken(rates, 9, t, 2000));
    assertEquals(1_000_000L, rates.nanosUntilToken(9, t));
    assertEquals(600_000L, rates.nanosUntilToken(9, t + 400_000L));
    assertEquals(0, rates.nanosUntilToken(9, t + 1_000_000L), "the token is there");
    assertEquals(1_000_000L, rates.nanosUntilToken(9, t), "asking takes nothing");
    assertTrue(rates.tryAcquire(9, t + 1_000_000L));
    assertFalse(rates.tryAcquire(9, t + 1_000_000L));
  }
}
