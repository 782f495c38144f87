import TCPCopyCLI

TCPCopyCommand.mainWithSubcommands()
