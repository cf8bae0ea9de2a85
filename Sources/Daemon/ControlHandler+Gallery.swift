import RevsdProtocol

/// The gallery's operations (revsd-web): the library in pages, one image,
/// and an image's file or thumbnail passed back as a descriptor.
extension ControlHandler {
    func images(_ r: ImagesRequest) throws -> ImagesResult {
        throw ControlError(.unavailable, "'images' is not implemented yet")
    }

    func image(_ r: ImageRequest) throws -> ImageResult {
        throw ControlError(.unavailable, "'image' is not implemented yet")
    }

    func imageFile(_ r: ImageFileRequest) throws -> ControlServer.Reply {
        throw ControlError(.unavailable, "'image_file' is not implemented yet")
    }
}
