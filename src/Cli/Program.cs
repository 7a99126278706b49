return new OnnxKeras.Cli.CliApp().Run(args, Console.Out, Console.Error);
