package io.pbft.cli;

import io.pbft.config.ClusterConfig;
import java.nio.file.Files;
import java.nio.file.Path;

/** Loads the --config file with messages that tell a user what to do about a missing one. */
final class Configs {
  private Configs() {}

  static ClusterConfig load(Path file) {
    if (Files.isDirectory(file) && Files.isRegularFile(file.resolve("cluster.yaml"))) {
      // `--config DIR` is an easy slip when keygen was given `--out DIR`; accept it
      file = file.resolve("cluster.yaml");
    }
    if (!Files.exists(file)) {
      throw CliException.usage("configuration file " + file + " does not exist (create one with 'pbft keygen --out DIR')");
    }
    if (!Files.isRegularFile(file)) {
      throw CliException.usage("configuration " + file + " is not a file");
    }
    return ClusterConfig.load(file);
  }
}
