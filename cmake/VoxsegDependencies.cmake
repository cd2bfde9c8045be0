# Every third-party package voxseg uses, found once here (Debian 12 packages).
find_package(ITK 5.2 REQUIRED COMPONENTS
  ITKCommon ITKIOImageBase ITKIONIFTI ITKIONRRD ITKIOMeta ITKIOGDCM ITKIOPNG ITKIOJPEG ITKIOTIFF ITKIOBMP
  ITKImageIntensity ITKImageGrid ITKDistanceMap ITKLabelMap ITKConnectedComponents)
find_package(Torch REQUIRED)
find_package(DCMTK REQUIRED CONFIG)
find_package(CLI11 REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(Threads REQUIRED)

if(VOXSEG_WITH_CUDA AND NOT TORCH_CUDA_LIBRARIES)
  message(FATAL_ERROR "VOXSEG_WITH_CUDA=ON but the LibTorch at ${Torch_DIR} has no CUDA; "
                      "pass -DTorch_DIR=<CUDA LibTorch>/share/cmake/Torch")
endif()
