"""`image_folder` data sets: one subfolder per class, decoded and resized with Pillow, kept as uint8.

Follows keras.utils.image_dataset_from_directory: class names are the subfolder
names sorted alphabetically, label i is the i-th of them, files are found
recursively. Resizing is Pillow's (with its antialiasing when shrinking), so
pixels can differ slightly from Keras's tf.image.resize.
"""

from __future__ import annotations

import numpy as np

from tflmake.data.folders import Arrays, load_labelled_folders
from tflmake.errors import BuildError
from tflmake.kinds import IMAGE_EXTENSIONS
from tflmake.spec.load import ModelSpec
from tflmake.spec.sections import DatasetSection

# color_mode -> (Pillow mode, channels)
COLOR_MODES = {"grayscale": ("L", 1), "rgb": ("RGB", 3), "rgba": ("RGBA", 4)}


def load_image_folder(spec: ModelSpec) -> Arrays:
    assert spec.dataset is not None
    options = spec.dataset
    return load_labelled_folders(options, spec.resolve, IMAGE_EXTENSIONS,
                                 lambda paths: decode_images(paths, options))


def decode_images(paths: list[str], options: DatasetSection) -> np.ndarray:
    """Every image as uint8 (count, height, width, channels), decoded into one preallocated array."""
    from PIL import Image, UnidentifiedImageError

    height, width = options["image_size"]
    mode, channels = COLOR_MODES[options["color_mode"]]
    resample = Image.Resampling[options["interpolation"].upper()]
    images = np.empty((len(paths), height, width, channels), dtype=np.uint8)
    for index, path in enumerate(paths):
        try:
            with Image.open(path) as image:
                resized = image.convert(mode).resize((width, height), resample)
        except (OSError, UnidentifiedImageError, ValueError) as error:
            raise BuildError(f"dataset.path: cannot read image {path}: {error}") from None
        images[index] = np.asarray(resized).reshape(height, width, channels)
    return images
