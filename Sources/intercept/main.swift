import TCPCopyCLI

InterceptCommand.main()
