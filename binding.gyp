{
  "targets": [
    {
      "target_name": "seapo_native",
      "sources": [
        "native/addon.cc",
        "native/pool.cc",
        "native/variant_avx512_bf16.cc",
        "native/variant_avx512.cc",
        "native/variant_avx2.cc",
        "native/variant_avx2_wide.cc",
        "native/variant_scalar.cc"
      ],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except_all"],
      "defines": ["NAPI_VERSION=8"],
      "cflags!": ["-O0", "-O1", "-O2"],
      "cflags_cc!": ["-O0", "-O1", "-O2", "-fno-exceptions"],
      "cflags": ["-O3", "-pthread"],
      "cflags_cc": ["-O3", "-pthread", "-fno-math-errno", "-Wno-psabi"],
      "ldflags": ["-pthread"]
    }
  ]
}
