"""More common CNN architectures, exported exactly as ../shared/zoo/models (random weights, batch norms
adapted to image-like inputs, opset 13, dynamic batch axis), for the latency bench's "any other common
CNN architecture" rows. Not committed as models: made on demand with the zoo's own exporter.

  python3 ../shared/zoo/torch_export.py --extra bench/zoo_more_cnns.py OUT_DIR efficientnet_b0 ...

needs Debian's python3-torchvision (torch 1.13, torchvision 0.14).
"""


def register_models(api):
    api.register(api.torchvision_classifier("efficientnet_b0", 13, notes=["SiLU as Sigmoid x Mul, squeeze-excite"]))
    api.register(api.torchvision_classifier("mobilenet_v3_large", 13, notes=["HardSigmoid + Mul hardswish"]))
    api.register(api.torchvision_classifier("mnasnet1_0", 13, notes=["depthwise, Relu, no squeeze-excite"]))
    api.register(api.torchvision_classifier("regnet_y_400mf", 13, notes=["grouped Conv, squeeze-excite with Sigmoid"]))
    api.register(api.torchvision_classifier("squeezenet1_1", 13, notes=["fire modules: Concat of two Convs"]))
    api.register(api.torchvision_classifier("resnet50", 13, notes=["bottleneck residuals"]))
