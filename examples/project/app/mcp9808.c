/* MCP9808 temperature sensor (Microchip datasheet DS25095): manufacturer ID
 * 0x0054 in register 0x06, device ID 0x04 in the high byte of 0x07, ambient
 * temperature in 0x05 as 13-bit two's complement sixteenths of a degree. */
#include "main.h"

#define REG_AMBIENT 0x05
#define REG_MANUFACTURER 0x06
#define REG_DEVICE 0x07

static bool read16(I2C_HandleTypeDef *i2c, uint8_t reg, uint16_t *value) {
    uint8_t b[2];
    if (HAL_I2C_Mem_Read(i2c, MCP9808_ADDR << 1, reg, I2C_MEMADD_SIZE_8BIT, b, 2, 100) != HAL_OK) {
        return false;
    }
    *value = (uint16_t)((b[0] << 8) | b[1]);
    return true;
}

bool mcp9808_init(I2C_HandleTypeDef *i2c) {
    uint16_t manufacturer = 0, device = 0;
    if (HAL_I2C_IsDeviceReady(i2c, MCP9808_ADDR << 1, 3, 100) != HAL_OK) {
        return false;
    }
    if (!read16(i2c, REG_MANUFACTURER, &manufacturer) || !read16(i2c, REG_DEVICE, &device)) {
        return false;
    }
    return manufacturer == 0x0054 && (device >> 8) == 0x04;
}

bool mcp9808_read(I2C_HandleTypeDef *i2c, float *celsius) {
    uint16_t raw = 0;
    if (!read16(i2c, REG_AMBIENT, &raw)) {
        return false;
    }
    int16_t sixteenths = (int16_t)(raw << 3) >> 3; /* 13-bit two's complement */
    *celsius = (float)sixteenths / 16.0f;
    return true;
}
