import TCPCopyCLI

TCPCopyCommand.main()
