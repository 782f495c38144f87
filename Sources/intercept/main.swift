import TCPCopyCLI

InterceptCommand.mainWithSubcommands()
