#include "archive/checksum.h"

#include <openssl/evp.h>
#include <xxhash.h>

namespace sluice::archive {

namespace {

std::string Hex(const unsigned char* bytes, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
  return out;
}

class Sha256 final : public Checksum {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() override { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(const void* data, size_t n) override { EVP_DigestUpdate(ctx_, data, n); }
  std::string Finish() override {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, md, &len);
    return "sha256:" + Hex(md, len);
  }

 private:
  EVP_MD_CTX* ctx_;
};

class Xxh128 final : public Checksum {
 public:
  Xxh128() : state_(XXH3_createState()) { XXH3_128bits_reset(state_); }
  ~Xxh128() override { XXH3_freeState(state_); }
  Xxh128(const Xxh128&) = delete;
  Xxh128& operator=(const Xxh128&) = delete;
  void Update(const void* data, size_t n) override { XXH3_128bits_update(state_, data, n); }
  std::string Finish() override {
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(state_));
    return "xxh128:" + Hex(c.digest, sizeof c.digest);
  }

 private:
  XXH3_state_t* state_;
};

}  // namespace

Result<std::unique_ptr<Checksum>> MakeChecksum(std::string_view algorithm) {
  if (algorithm == "sha256") return std::unique_ptr<Checksum>(std::make_unique<Sha256>());
  if (algorithm == "xxh128") return std::unique_ptr<Checksum>(std::make_unique<Xxh128>());
  return Status::InvalidArgument("unknown checksum algorithm \"" + std::string(algorithm) +
                                 "\"; use sha256 or xxh128");
}

}  // namespace sluice::archive
