# CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit: the tests' own reference
# for the checkpoint trailer and the data identity (descent's is src/crc32c.cpp). Imported by
# the Python snippets of tests/cli/*.sh (PYTHONPATH set to this directory).


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF
