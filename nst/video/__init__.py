"""Video: optical flow and reliability weights between frames (Ruder, Dosovitskiy and Brox 2016,
"Artistic style transfer for videos"), and a synthetic clip whose true motion is known."""
