namespace OnnxKeras.Export.Onnx;

/// <summary>
/// Graph clean-up after emission: a Transpose followed by its inverse (the layout change at the edge of a
/// channels-first op and back) is removed when nothing else reads the value between them, and unary elementwise ops
/// between such a pair are moved so the pair meets. Keeps the layout native between consecutive layers.
/// </summary>
internal static class GraphOptimizer
{
    private static readonly HashSet<string> Elementwise = new(StringComparer.Ordinal)
    {
        "Relu", "Sigmoid", "Tanh", "LeakyRelu", "Elu", "Selu", "Softplus", "Softsign", "HardSigmoid", "Abs", "Neg", "Exp", "Sqrt",
    };

    public static void Run(GraphProto graph, Dictionary<string, (long?[] Shape, int ElemType)> valueInfo)
    {
        bool changed = true;
        while (changed) changed = SwapTransposeWithElementwise(graph, valueInfo) || CancelTransposePairs(graph);
        RemoveDeadNodes(graph);
        RemoveUnusedInitializers(graph);
    }

    /// <summary>
    /// Drops nodes whose outputs reach no graph output: computation a layer traced only for a training loss (a term given
    /// to <c>Layer.AddLoss</c>). Nodes are in topological order, so one backward pass from the outputs finds the live ones;
    /// values read inside a live node's subgraphs (Loop, If, Scan bodies) count as read by that node.
    /// </summary>
    private static void RemoveDeadNodes(GraphProto g)
    {
        var live = new HashSet<string>(g.Output.Select(o => o.Name), StringComparer.Ordinal);
        var keep = new bool[g.Node.Count];
        for (int i = g.Node.Count - 1; i >= 0; i--)
        {
            if (!g.Node[i].Output.Any(live.Contains)) continue;
            keep[i] = true;
            live.UnionWith(Reads(g.Node[i]));
        }
        for (int i = g.Node.Count - 1; i >= 0; i--)
        {
            if (!keep[i]) g.Node.RemoveAt(i);
        }
    }

    /// <summary>The values a node reads: its inputs and every input of the nodes in its subgraph attributes.</summary>
    private static IEnumerable<string> Reads(NodeProto n) =>
        n.Input.Concat(n.Attribute.SelectMany(a => (a.G is null ? a.Graphs : a.Graphs.Append(a.G)).SelectMany(sub => sub.Node.SelectMany(Reads))));

    /// <summary>
    /// Drops initializers no node reads: constants that an emitter folded into others (BatchNormalization's statistics,
    /// folded into one scale and one shift). Model outputs that are constants are read by an Identity, so they stay.
    /// </summary>
    private static void RemoveUnusedInitializers(GraphProto g)
    {
        var used = new HashSet<string>(g.Node.SelectMany(n => n.Input), StringComparer.Ordinal);
        foreach (var unused in g.Initializer.Where(i => !used.Contains(i.Name)).ToList()) g.Initializer.Remove(unused);
    }

    private static long[] Perm(NodeProto n) => n.Attribute.First(a => a.Name == "perm").Ints.ToArray();

    private static IEnumerable<NodeProto> Consumers(GraphProto g, string value) => g.Node.Where(n => n.Input.Contains(value));

    private static bool IsGraphOutput(GraphProto g, string value) => g.Output.Any(o => o.Name == value);

    /// <summary>Transpose(p) then Transpose(q) with q∘p = identity: consumers of the second read the first's input.</summary>
    private static bool CancelTransposePairs(GraphProto g)
    {
        foreach (var first in g.Node.Where(n => n.OpType == "Transpose").ToList())
        {
            var mid = first.Output[0];
            var consumers = Consumers(g, mid).ToList();
            if (consumers.Count != 1 || consumers[0].OpType != "Transpose" || IsGraphOutput(g, mid)) continue;
            var second = consumers[0];
            var p = Perm(first);
            var q = Perm(second);
            if (p.Length != q.Length || !Enumerable.Range(0, p.Length).All(i => p[q[i]] == i)) continue;
            var source = first.Input[0];
            var result = second.Output[0];
            if (IsGraphOutput(g, result)) continue;
            foreach (var n in g.Node)
                for (int i = 0; i < n.Input.Count; i++) if (n.Input[i] == result) n.Input[i] = source;
            g.Node.Remove(first);
            g.Node.Remove(second);
            return true;
        }
        return false;
    }

    /// <summary>Transpose then a unary elementwise op becomes the op then the Transpose (same result), so Transposes can meet.</summary>
    private static bool SwapTransposeWithElementwise(GraphProto g, Dictionary<string, (long?[] Shape, int ElemType)> valueInfo)
    {
        foreach (var t in g.Node.Where(n => n.OpType == "Transpose").ToList())
        {
            var consumers = Consumers(g, t.Output[0]).ToList();
            if (consumers.Count != 1 || !Elementwise.Contains(consumers[0].OpType) || IsGraphOutput(g, t.Output[0])) continue;
            var op = consumers[0];
            var next = Consumers(g, op.Output[0]).ToList();
            if (next.Count != 1 || next[0].OpType != "Transpose") continue; // only worth it when it lets two Transposes meet
            // x -T-> a -op-> b   becomes   x -op-> a' -T-> b
            string x = t.Input[0], a = t.Output[0], b = op.Output[0];
            op.Input[0] = x;
            op.Output[0] = a + "_pre";
            t.Input[0] = op.Output[0];
            t.Output[0] = b;
            int ti = g.Node.IndexOf(t), oi = g.Node.IndexOf(op);
            g.Node[ti] = op;
            g.Node[oi] = t;
            // The new intermediate has the source's layout (the op is elementwise).
            if (valueInfo.TryGetValue(x, out var info)) valueInfo[op.Output[0]] = info;
            valueInfo.Remove(a);
            return true;
        }
        return false;
    }
}
