package org.rollspark.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.rollspark.model.ModelIO;
import org.rollspark.model.OnnxExport;
import org.rollspark.net.Network;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The export command: a model folder as an ONNX file any runtime serves. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Write a trained model as ONNX (opset " + OnnxExport.OPSET + "): the input normalisation as leading "
                + "Sub / Div nodes, so the model takes raw inputs; dense, conv, batch-norm, pooling, residual and recurrent layers.")
final class Export implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Model folder (model.json plus .npy weights), local or any Hadoop URI.")
    String model;
    @Option(names = "--onnx", required = true, description = "The ONNX file to write.")
    Path onnx;
    @Option(names = "--lengths", description = "Recurrent networks trained on padded sequences: add an int32 input '"
            + OnnxExport.LENGTHS + "' (valid steps per example, the RNN's sequence_lens), so the state stops at each "
            + "sequence's end as it does here. Without it every sequence is taken at full length.")
    boolean lengths;
    @Option(names = "--force", description = "Replace an existing file.")
    boolean force;
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        Main.mayWrite(onnx, force);
        Network net = ModelIO.load(model, new org.apache.hadoop.conf.Configuration()).network();
        OnnxExport.write(net, onnx, lengths);
        spec.commandLine().getOut().println("exported " + net.describe() + " to " + onnx.toAbsolutePath());
        return 0;
    }
}
