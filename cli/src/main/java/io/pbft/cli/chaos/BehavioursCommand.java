package io.pbft.cli.chaos;

import io.pbft.chaos.sim.ClientBehaviours;
import io.pbft.chaos.traitor.Traitors;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code pbft chaos behaviours}: the traitor catalogue. */
@Command(name = "behaviours", aliases = "behaviors", mixinStandardHelpOptions = true,
    description = {"List the traitor behaviours (for --behaviour, and for pbft replica/demo --traitor),",
        "then the Byzantine client behaviours (for pbft chaos sim --client-behaviour)."})
final class BehavioursCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    for (Traitors.Entry e : Traitors.entries()) {
      String where = switch (e.role()) {
        case PRIMARY -> "primary";
        case NEXT_PRIMARY -> "next primary";
        case ANY -> "any replica";
      };
      out.printf("%-22s %-13s %s%n", e.name(), where, e.description());
    }
    out.printf("%-22s %-13s %s%n", "collusion", "f + 1", "simulator: an equivocating primary with accomplices that"
        + " vote both ways (one more traitor than PBFT tolerates: breaks agreement)");
    out.println();
    out.println("Join names with '+' to combine them, e.g. slow+lying-replies. The middle column is where a");
    out.println("behaviour does the most harm; pbft chaos sim puts a traitor there unless --traitor-ids says.");
    out.println();
    out.println("Byzantine clients (simulator; pbft chaos sim --client-behaviour NAME[,NAME]): keyed clients,");
    out.println("so their requests authenticate, that misbehave (and the administrator, who does not):");
    for (ClientBehaviours.Entry e : ClientBehaviours.entries()) {
      out.printf("%-22s %s%n", e.name(), e.description());
    }
    out.println("(Session exhaustion is a transport attack the simulator does not model: pbft bench --fault");
    out.println("session-exhaustion runs it against replica processes, with io.pbft.chaos.outsider.Outsider.)");
    out.flush();
    return 0;
  }
}
