package io.pbft.chaos.traitor;

import io.pbft.replica.node.Behaviour;

/**
 * Marks a replica that runs twice with the same identity and key (Twins, Bano et al. 2020): two
 * honest-looking cores that each hear part of the traffic and both talk to everyone, so the
 * group hears two voices sign different things under one name. Only the simulator can run a twin
 * (it starts the second instance); in a real process this behaviour passes everything through.
 */
public final class Twins implements Behaviour {
  public static final String NAME = "twins";

  @Override
  public String name() {
    return NAME;
  }
}
