"""
Your own photos: class folders in, a CSV of labels for new images out
=====================================================================

The path a practitioner with a folder of photos takes, end to end, offline:
``load_image_folder`` -> ``fit`` -> ``save_model`` -> ``load_model`` ->
``load_images`` on a flat folder of new photos -> ``predict`` -> a CSV (here
with the ``sktransfer predict`` command).

The photos are real: crops of scikit-learn's and matplotlib's sample images
(a temple, a flower, a portrait), one class per source photo. They are saved
the way folders are found in the wild: JPEG and PNG, grey, RGBA with
transparency, palette GIF, different sizes, a phone photo stored sideways
with its EXIF orientation tag, and junk (``.DS_Store``, notes, a
``.ipynb_checkpoints`` folder).
"""

# %%
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import cbook
from PIL import Image
from sklearn.datasets import load_sample_image

from sktransfer import PretrainedCNNClassifier, load_model, save_model
from sktransfer.datasets import load_image_folder, load_images

PHOTOS = {
    "temple": np.asarray(load_sample_image("china.jpg")),
    "flower": np.asarray(load_sample_image("flower.jpg")),
    "portrait": np.asarray(Image.open(cbook.get_sample_data("grace_hopper.jpg"))),
}
rng = np.random.default_rng(0)


def crop(photo):
    """A random square-ish crop of 90-200 px, as a PIL image."""
    side = int(rng.integers(90, 200))
    height = int(side * rng.uniform(0.8, 1.25))
    top = int(rng.integers(0, photo.shape[0] - height))
    left = int(rng.integers(0, photo.shape[1] - side))
    return Image.fromarray(photo[top : top + height, left : left + side])


def save_like_in_the_wild(image, path, i):
    """Save in one of several formats and modes, by turn."""
    kind = i % 6
    if kind == 0:
        image.save(path.with_suffix(".jpg"), quality=90)
    elif kind == 1:
        image.convert("L").save(path.with_suffix(".png"))  # grey
    elif kind == 2:
        rgba = image.convert("RGBA")
        rgba.putalpha(Image.new("L", image.size, 255))
        rgba.putpixel((0, 0), (0, 0, 0, 0))  # one transparent corner pixel
        rgba.save(path.with_suffix(".png"))
    elif kind == 3:
        image.convert("P", palette=Image.Palette.ADAPTIVE).save(
            path.with_suffix(".gif")
        )
    elif kind == 4:  # a phone photo: stored sideways, EXIF says "rotate 90° CW"
        exif = Image.Exif()
        exif[0x0112] = 6
        image.transpose(Image.Transpose.ROTATE_90).save(
            path.with_suffix(".jpg"), exif=exif
        )
    else:
        image.resize((image.width // 2, image.height // 2)).save(
            path.with_suffix(".png")
        )


root = Path(tempfile.mkdtemp(prefix="sktransfer-photos-"))
for label, photo in PHOTOS.items():
    (root / "train" / label).mkdir(parents=True)
    for i in range(12):
        save_like_in_the_wild(crop(photo), root / "train" / label / f"img{i:02d}", i)
(root / "new").mkdir()
truth = {}
for label, photo in PHOTOS.items():
    for i in range(4):
        name = f"{label[0]}{i}_{rng.integers(1000, 9999)}"
        save_like_in_the_wild(crop(photo), root / "new" / name, i + 1)
        truth[name] = label
# Junk that every real folder has.
(root / "train" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
(root / "train" / "temple" / "notes.txt").write_text("taken in 2019")
(root / "train" / ".ipynb_checkpoints").mkdir()
(root / "new" / "Thumbs.db").write_bytes(b"junk")
print(sorted(p.name for p in (root / "train" / "temple").iterdir()))

# %%
# Read the class folders at 64 px, cropped to keep the aspect ratio, and
# fine-tune EfficientNet-Lite0 (ImageNet weights, offline) with the defaults.
X, y, paths = load_image_folder(
    root / "train", image_size=64, resize="crop", color="rgb", return_paths=True
)
print(X.shape, X.dtype, np.unique(y, return_counts=True))
model = PretrainedCNNClassifier("efficientnet_lite0", random_state=0).fit(X, y)
print(f"accuracy on its own training photos: {np.mean(model.predict(X) == y):.2f}")
model_path = save_model(model, root / "model.sktransfer")

# %%
# Later, elsewhere: load the model and label a flat folder of new photos,
# read the same way (their sizes differ from the training crops').
model = load_model(model_path)
X_new, new_paths = load_images(root / "new", image_size=64, resize="crop", color="rgb")
labels = model.predict(X_new)
names = [Path(p).with_suffix("").name for p in new_paths]
accuracy = np.mean([truth[n] == label for n, label in zip(names, labels, strict=True)])
print(f"{len(names)} new photos, accuracy {accuracy:.2f}")

# %%
# The same from the shell: ``sktransfer predict MODEL FOLDER`` writes path,
# label and one probability per class (``--resize crop`` as in training).
csv_path = root / "labels.csv"
subprocess.run(
    [
        sys.executable,
        "-m",
        "sktransfer",
        "predict",
        str(model_path),
        str(root / "new"),
        "--out",
        str(csv_path),
        "--image-size",
        "64",
        "--resize",
        "crop",
    ],
    check=True,
)
rows = list(csv.DictReader(csv_path.open()))
print(",".join(rows[0]))
for row in rows[:3]:
    print(",".join([Path(row["path"]).name, *list(row.values())[1:]]))
assert [row["label"] for row in rows] == labels.tolist()

# %%
# What the model said about each new photo (green: right, red: wrong).
proba = model.predict_proba(X_new)
fig, axes = plt.subplots(2, 6, figsize=(10, 4))
for ax, image, name, label, p in zip(
    axes.flat, X_new, names, labels, proba, strict=True
):
    ax.imshow(image)
    ax.set_title(
        f"{label} {p.max():.2f}", color="green" if truth[name] == label else "red"
    )
    ax.axis("off")
fig.suptitle("New photos, as load_images read them, with the predicted label")
plt.show()
