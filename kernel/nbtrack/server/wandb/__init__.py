"""What a W&B client talks to: GraphQL (parser, projection, resolvers), ``file_stream``
posts and signed upload URLs."""
