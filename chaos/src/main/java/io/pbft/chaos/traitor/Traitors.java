package io.pbft.chaos.traitor;

import io.pbft.replica.core.Behaviour;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The catalogue of traitor behaviours by name, as {@code pbft replica --traitor NAME}, the
 * simulator and the container cluster name them. Several names joined with '+' combine.
 */
public final class Traitors {
  /** What a behaviour may need to know about the cluster it lies to. */
  public record Context(int replicaId, int n, int f, long seed) {}

  private static final Map<String, Function<Context, Behaviour>> CATALOGUE = new TreeMap<>();

  static {
    CATALOGUE.put("honest", c -> Behaviour.HONEST);
    CATALOGUE.put("silent", c -> new Silent());
    CATALOGUE.put("equivocating-primary", c -> new EquivocatingPrimary(c.n()));
  }

  private Traitors() {}

  public static List<String> names() {
    return List.copyOf(CATALOGUE.keySet());
  }

  /** @throws IllegalArgumentException naming the known behaviours when {@code name} is unknown */
  public static Behaviour create(String name, Context context) {
    String[] parts = name.split("\\+");
    if (parts.length > 1) {
      Behaviour[] all = new Behaviour[parts.length];
      for (int i = 0; i < parts.length; i++) {
        all[i] = create(parts[i], context);
      }
      return new Combined(name, List.of(all));
    }
    Function<Context, Behaviour> factory = CATALOGUE.get(name.trim());
    if (factory == null) {
      throw new IllegalArgumentException("unknown traitor behaviour '" + name + "'; known: " + names());
    }
    return factory.apply(context);
  }
}
