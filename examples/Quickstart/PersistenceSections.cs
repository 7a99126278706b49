using OnnxKeras.Models;

namespace OnnxKeras.Examples.Quickstart;

/// <summary>Sections 10-12 of the quick-start: saving and restoring weights, the architecture, and whole models.</summary>
internal static class PersistenceSections
{
    public static void Run(Model model, float[,] data, string work)
    {
        Console.WriteLine();
        Console.WriteLine("== 10-12. Save and restore: weights, architecture, whole model");
        Console.WriteLine("  (model saving is not part of this build yet)");
    }
}
