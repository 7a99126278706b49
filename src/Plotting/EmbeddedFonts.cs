using ScottPlot;
using SkiaSharp;

namespace OnnxKeras.Plotting;

/// <summary>
/// The fonts plots are drawn with: DejaVu Sans (regular and bold, Latin-1 subsets) embedded in this assembly.
/// ScottPlot's Linux Skia build (SkiaSharp.NativeAssets.Linux.NoDependencies) has no fontconfig, so on a machine without
/// installed fonts it finds no typeface and draws no text at all; with the embedded font, text renders everywhere and the
/// same input gives the same PNG on every machine.
/// </summary>
internal static class EmbeddedFonts
{
    /// <summary>The font name our resolver answers to (distinct from any installed font).</summary>
    public const string Name = "OnnxKeras DejaVu Sans";

    private static readonly Lazy<bool> Registered = new(() =>
    {
        Fonts.FontResolvers.Add(new Resolver(Load("DejaVuSans.ttf"), Load("DejaVuSans-Bold.ttf")));
        return true;
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Makes <see cref="Name"/> resolvable by ScottPlot (once per process).</summary>
    public static void EnsureRegistered() => _ = Registered.Value;

    private static byte[] Load(string file)
    {
        using var stream = typeof(EmbeddedFonts).Assembly.GetManifestResourceStream($"OnnxKeras.Plotting.{file}")
            ?? throw new InvalidOperationException($"The embedded font '{file}' is missing from OnnxKeras.Plotting.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private sealed class Resolver(byte[] regular, byte[] boldFace) : IFontResolver
    {
        public SKTypeface? CreateTypeface(string fontName, bool bold, bool italic) =>
            fontName == Name ? SKTypeface.FromData(SKData.CreateCopy(bold ? boldFace : regular)) : null;

        public SKTypeface? CreateTypeface(string fontName, FontWeight weight, FontSlant slant, FontSpacing spacing) =>
            CreateTypeface(fontName, (int)weight >= (int)FontWeight.SemiBold, slant != FontSlant.Upright);
    }
}
