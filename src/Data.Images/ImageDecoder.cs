using System.Runtime.InteropServices;
using SkiaSharp;

namespace OnnxKeras.Data.Images;

/// <summary>Decodes image files to float pixels and resizes them as <c>tf.image.resize</c> does (half-pixel centers, no antialiasing).</summary>
internal static class ImageDecoder
{
    public static readonly string[] Extensions = [".bmp", ".gif", ".jpeg", ".jpg", ".png"];

    public static int Channels(string colorMode, string utility) => colorMode switch
    {
        "grayscale" => 1,
        "rgb" => 3,
        "rgba" => 4,
        _ => throw new ArgumentException($"{utility}: colorMode must be \"grayscale\", \"rgb\" or \"rgba\"; got \"{colorMode}\".", nameof(colorMode)),
    };

    public static void CheckInterpolation(string interpolation, string utility)
    {
        if (interpolation is not ("bilinear" or "nearest"))
            throw new ArgumentException($"{utility}: interpolation \"{interpolation}\" is not supported; use \"bilinear\" (Keras's default) or \"nearest\".",
                nameof(interpolation));
    }

    /// <summary>The file's pixels, <c>[height, width, channels]</c> row-major, values 0..255 as TensorFlow's decoders give them.</summary>
    public static (float[] Pixels, int Height, int Width) Decode(string path, int channels)
    {
        using var codec = SKCodec.Create(path)
            ?? throw new InvalidDataException($"Cannot decode the image '{path}': not a PNG, JPEG, BMP or GIF file, or damaged.");
        int w = codec.Info.Width, h = codec.Info.Height;
        // Unpremultiplied RGBA with no color space: the stored values, no alpha premultiplication and no ICC conversion.
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[checked(w * h * 4)];
        var handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        SKCodecResult result;
        try
        {
            result = codec.GetPixels(info, handle.AddrOfPinnedObject());
        }
        finally
        {
            handle.Free();
        }
        if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
            throw new InvalidDataException($"Cannot decode the image '{path}': {result}.");
        var pixels = new float[h * w * channels];
        for (int i = 0; i < w * h; i++)
        {
            byte r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2], a = rgba[4 * i + 3];
            switch (channels)
            {
                case 1:
                    // ITU-R BT.601 luma (tf.image.rgb_to_grayscale), rounded to a byte as a decoder's output is.
                    pixels[i] = r == g && g == b ? r : MathF.Round(0.299f * r + 0.587f * g + 0.114f * b);
                    break;
                case 3:
                    pixels[3 * i] = r;
                    pixels[3 * i + 1] = g;
                    pixels[3 * i + 2] = b;
                    break;
                default:
                    pixels[4 * i] = r;
                    pixels[4 * i + 1] = g;
                    pixels[4 * i + 2] = b;
                    pixels[4 * i + 3] = a;
                    break;
            }
        }
        return (pixels, h, w);
    }

    /// <summary>
    /// Resizes <c>[inH, inW, c]</c> pixels into <paramref name="output"/> at <paramref name="offset"/> (<c>[outH, outW, c]</c>),
    /// with TensorFlow's ResizeBilinear / ResizeNearestNeighbor formulas for half-pixel centers.
    /// </summary>
    public static void Resize(float[] input, int inH, int inW, int c, float[] output, int offset, int outH, int outW, string interpolation)
    {
        float scaleY = (float)inH / outH, scaleX = (float)inW / outW;
        if (interpolation == "nearest")
        {
            for (int y = 0; y < outH; y++)
            {
                int sy = Math.Min((int)MathF.Floor((y + 0.5f) * scaleY), inH - 1);
                for (int x = 0; x < outW; x++)
                {
                    int sx = Math.Min((int)MathF.Floor((x + 0.5f) * scaleX), inW - 1);
                    Array.Copy(input, (sy * inW + sx) * c, output, offset + (y * outW + x) * c, c);
                }
            }
            return;
        }
        for (int y = 0; y < outH; y++)
        {
            float iy = (y + 0.5f) * scaleY - 0.5f;
            float fy = MathF.Floor(iy);
            int y0 = Math.Max((int)fy, 0), y1 = Math.Min((int)MathF.Ceiling(iy), inH - 1);
            float ly = iy - fy;
            for (int x = 0; x < outW; x++)
            {
                float ix = (x + 0.5f) * scaleX - 0.5f;
                float fx = MathF.Floor(ix);
                int x0 = Math.Max((int)fx, 0), x1 = Math.Min((int)MathF.Ceiling(ix), inW - 1);
                float lx = ix - fx;
                for (int k = 0; k < c; k++)
                {
                    float tl = input[(y0 * inW + x0) * c + k], tr = input[(y0 * inW + x1) * c + k];
                    float bl = input[(y1 * inW + x0) * c + k], br = input[(y1 * inW + x1) * c + k];
                    float top = tl + (tr - tl) * lx;
                    float bottom = bl + (br - bl) * lx;
                    output[offset + (y * outW + x) * c + k] = top + (bottom - top) * ly;
                }
            }
        }
    }
}
