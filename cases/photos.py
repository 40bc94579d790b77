"""Case photos: checked, cleaned and stored where /photos/ serves them (instance/photos).

An upload is trusted for nothing: its type is what Pillow finds in the bytes (never the
file name or the browser's Content-Type), only JPEG, PNG and WebP are opened, and what we
store is a new JPEG drawn from the decoded pixels. So camera metadata (GPS position, serial
numbers) and anything hidden in or after the image never reach the public site.
"""

import contextlib
import io
import os
import secrets
import warnings

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

FORMATS = ("JPEG", "PNG", "WEBP")
MAX_WIDTH = 1200
MAX_HEIGHT = 1600
MAX_PIXELS = 50_000_000  # a 48-megapixel phone photo fits; a decompression bomb does not
QUALITY = 85


class PhotoError(ValueError):
    """Why an upload cannot be used, in words for the admin who chose it."""


def photos_folder():
    """Where public.photo serves from: instance/photos, outside the code tree."""
    return os.path.join(current_app.instance_path, "photos")


def max_bytes():
    return current_app.config["PHOTO_MAX_BYTES"]


def megabytes(size):
    return f"{size / 1024 / 1024:.0f} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"


def prepare(stream):
    """The upload as a clean JPEG (bytes), or PhotoError.

    Reads at most the size limit plus one byte, opens only the allowed formats, turns the
    picture the way the camera's orientation tag says, scales it down to MAX_WIDTH wide
    and re-encodes it without any metadata.
    """
    limit = max_bytes()
    data = stream.read(limit + 1)
    if not data:
        raise PhotoError(_("That file is empty. Please choose a photo."))
    if len(data) > limit:
        raise PhotoError(
            _(
                "That photo is larger than %(limit)s. Please choose a smaller one.",
                limit=megabytes(limit),
            )
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            if image.width * image.height > MAX_PIXELS:
                raise PhotoError(too_many_pixels())
            if image.format in ("JPEG", "MPO"):  # MPO: phone JPEGs with a second picture
                image.draft("RGB", (MAX_WIDTH * 2, MAX_HEIGHT * 2))  # decode big JPEGs scaled
            image.load()
            return encode(image)
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise PhotoError(too_many_pixels()) from error
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
    ) as error:
        raise PhotoError(
            _("That file is not a photo we can use. Please choose a JPEG, PNG or WebP image.")
        ) from error


def too_many_pixels():
    return _("That photo has too many pixels. Please choose a smaller one.")


def encode(image):
    """Upright, at most MAX_WIDTH x MAX_HEIGHT, in sRGB, as a JPEG with no metadata."""
    image = ImageOps.exif_transpose(image)
    image = to_srgb(image)
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image.getchannel("A"))
        image = background
    image = image.convert("RGB")
    image.thumbnail((MAX_WIDTH, MAX_HEIGHT), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY, optimize=True, progressive=True)
    return out.getvalue()


def to_srgb(image):
    """Phones tag photos with wide-gamut profiles; without conversion colours look dull."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode=image.mode
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a broken profile: keep the pixels as they are
    return converted or image


def save(data, folder=None):
    """Write a prepared photo under a random name; returns the name. `folder`: another
    place than the public case photos (offline reports' photos are for staff only)."""
    folder = folder or photos_folder()
    os.makedirs(folder, exist_ok=True)
    name = secrets.token_hex(16) + ".jpg"
    temporary = os.path.join(folder, f".{name}.part")
    with open(temporary, "wb") as out:
        out.write(data)
    os.replace(temporary, os.path.join(folder, name))
    return name


def delete(name, folder=None):
    """Remove a stored photo: a photo taken off a case should not stay online."""
    if not name or os.sep in name or name.startswith("."):
        return
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(folder or photos_folder(), name))
