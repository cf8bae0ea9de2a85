/// How Stable Diffusion prompts are usually worded, written for revsd (not
/// taken from any corpus): subjects in the genres people generate, with the
/// quality, medium, lighting and artist phrases they add. The normalised
/// mean of their all-MiniLM-L6-v2 embeddings is the zero-shot prior: the
/// part of a prompt embedding that the picture's content does not explain.
/// Once a library holds images with known prompts, their mean replaces it.
public enum PromptPrior {
    public static let builtinPrompts: [String] = [
        "masterpiece, best quality, highly detailed, 8k wallpaper",
        "a beautiful detailed digital painting of a landscape, trending on artstation, concept art, sharp focus",
        "portrait of a young woman, highly detailed face, sharp focus, studio lighting, photorealistic",
        "a cinematic photograph of a city street at night, dramatic lighting, 35mm, award winning photo",
        "epic fantasy landscape with mountains and a castle, matte painting, volumetric light, artstation",
        "1girl, solo, long hair, looking at viewer, smile, anime style, detailed background",
        "oil painting of a sailing ship in a storm, intricate details, by a famous artist, masterpiece",
        "a cute fluffy animal in a forest, digital art, soft lighting, highly detailed",
        "cyberpunk city at night, neon lights, rain, reflections, octane render, unreal engine 5",
        "still life with flowers in a vase on a table, soft light, highly detailed, oil on canvas",
        "a surreal dreamlike scene, vibrant colors, illustration, by a famous illustrator",
        "portrait photo of an old man with a beard, 85mm, bokeh, film grain",
        "a knight in shining armor, fantasy character concept art, full body, dramatic pose",
        "a cozy interior of a small cottage, warm light, detailed, illustration",
        "a futuristic spaceship above an alien planet, sci-fi, digital art, epic scale",
        "a bowl of ramen, food photography, close up, shallow depth of field",
        "a beautiful woman in a flowing dress, elegant, fashion photography, detailed",
        "a cat sitting on a windowsill, sunlight, photo, highly detailed fur",
        "a dragon flying over mountains, fantasy art, highly detailed scales, cinematic",
        "an astronaut floating in space, stars, nebula, digital painting",
        "a cute anime girl with a sword, dynamic pose, colorful, detailed illustration",
        "a modern house by a lake, architecture photography, golden hour",
        "a portrait of a robot, intricate mechanical details, sci-fi, concept art",
        "a mysterious forest with glowing mushrooms, magical, night, fantasy",
        "a vintage car on a desert road, sunset, photograph, 4k",
        "a medieval village on a hill, painting, warm colors, detailed",
        "a close up of a human eye, macro photography, ultra detailed",
        "an underwater scene with fish and coral, vibrant, digital art",
        "a warrior woman with red hair, fantasy portrait, artstation, by greg rutkowski",
        "a minimalist abstract composition, geometric shapes, pastel colors",
    ]
}
